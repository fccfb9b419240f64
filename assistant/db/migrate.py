"""Upgrade a database to the newest schema revision, from code, at every start.

Several workers (or replicas) may start at once: the upgrade runs inside one write
transaction that first takes a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction
advisory lock), so the second worker waits, then finds the schema current and does nothing.
Both backends have transactional DDL, so a failed upgrade leaves the previous schema.

Example:
    >>> from assistant.db.migrate import head_revision
    >>> head_revision()
    '0002'
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from ingest.alembic_scripts import alembic_config as scripts_config
from ingest.alembic_scripts import head_revision as scripts_head

if TYPE_CHECKING:
    from assistant.db.engine import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("kva.db")
# Alembic logs its set-up at INFO on every start; only a real upgrade is worth a line (ours).
logging.getLogger("alembic").setLevel(logging.WARNING)
# Any constant shared by every process of this product ('kvamigr' in ASCII).
_PG_LOCK_KEY = 0x6B76616D696772


def alembic_config(connection: Connection | None = None) -> Config:
    return scripts_config(MIGRATIONS, connection)


def head_revision() -> str:
    return scripts_head(MIGRATIONS)


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        if revision == "head" and before == head_revision():
            return  # the common case: nothing to do
        command.upgrade(alembic_config(conn), revision)
        log.info("database schema upgraded from %s to %s", before or "empty", revision)

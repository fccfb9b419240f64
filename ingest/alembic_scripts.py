"""Alembic from code, for the two schemas that upgrade themselves at start: the API's own
database (``assistant/db/migrations``) and the PostgreSQL document store
(``ingest/store/migrations``). Each names its own folder of revisions.

Example:
    >>> from pathlib import Path
    >>> from ingest.store.postgres import MIGRATIONS
    >>> head_revision(MIGRATIONS) is not None
    True
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection


def alembic_config(scripts: Path, connection: Connection | None = None) -> Config:
    """A configuration for the revisions in ``scripts``, run on ``connection`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision(scripts: Path) -> str:
    head = ScriptDirectory.from_config(alembic_config(scripts)).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions in {scripts}")
    return head

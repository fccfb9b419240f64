"""Alembic's environment for the PostgreSQL document store (``ingest.store.postgres``).

Its own version table (``store_alembic_version``): the store may share a database with the
API's state (``assistant.db``, table ``alembic_version``) and each upgrades on its own.
Always given a connection by ``ingest.store.postgres.upgrade``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with ingest.store.postgres.upgrade (it passes a connection)")

context.configure(
    connection=connection, target_metadata=None, version_table="store_alembic_version"
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic's environment: always given a connection (assistant.db.migrate.upgrade).

New revision (from the repository root), against a scratch SQLite file::

    .venv/bin/python -c "from alembic import command; from assistant.db.migrate import \
alembic_config; command.revision(alembic_config(), 'what changed')"
"""

from __future__ import annotations

from alembic import context

from assistant.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with assistant.db.migrate.upgrade (it passes a connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode recreates the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    # The document store keeps its own tables (and version table) in the same PostgreSQL
    # database; autogenerate must not propose dropping them.
    include_name=lambda name, type_, _parent: type_ != "table" or name in metadata.tables,
)
with context.begin_transaction():
    context.run_migrations()

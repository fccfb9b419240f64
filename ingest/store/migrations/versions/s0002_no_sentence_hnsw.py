"""No HNSW index over sentence vectors: replicas search them in their own index file (made once
per generation from these rows), so the index was never read, and keeping it up to date cost
~4 ms a row at ingest (a 100,000-chunk store had not committed after 30 minutes).

Revision ID: s0002
Revises: s0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS store_units_embedding")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS store_units_embedding ON store_units "
        "USING hnsw (embedding vector_cosine_ops)"
    )

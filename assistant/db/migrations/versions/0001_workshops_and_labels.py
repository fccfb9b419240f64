"""Workshops (rooms, questions, votes) and evaluator labels.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workshops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("delete_after", _utc(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshops")),
        sa.UniqueConstraint("code", name=op.f("uq_workshops_code")),
    )
    op.create_index(op.f("ix_workshops_delete_after"), "workshops", ["delete_after"])
    op.create_table(
        "workshop_questions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workshop_id", sa.Integer, nullable=False),
        sa.Column("participant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("answered", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("spotlight", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("answer_status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_questions")),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            ondelete="CASCADE",
            name=op.f("fk_workshop_questions_workshop_id_workshops"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'hidden')",
            name=op.f("ck_workshop_questions_state"),
        ),
        sa.CheckConstraint(
            "answer_status IN ('pending', 'answered', 'failed')",
            name=op.f("ck_workshop_questions_answer_status"),
        ),
    )
    op.create_index(
        "ix_workshop_questions_workshop",
        "workshop_questions",
        ["workshop_id", "participant", "created_at"],
    )
    op.create_table(
        "workshop_votes",
        sa.Column("question_id", sa.Integer, nullable=False),
        sa.Column("participant", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("question_id", "participant", name=op.f("pk_workshop_votes")),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["workshop_questions.id"],
            ondelete="CASCADE",
            name=op.f("fk_workshop_votes_question_id_workshop_questions"),
        ),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("verdict", sa.String(12), nullable=False),
        sa.Column("doc_id", sa.String(300), nullable=True),
        sa.Column("start", sa.Integer, nullable=True),
        sa.Column("end", sa.Integer, nullable=True),
        sa.Column("quote", sa.Text, nullable=True),
        sa.Column("fact", sa.Text, nullable=True),
        sa.Column("feedback_id", sa.Integer, nullable=True),
        sa.Column("author", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.CheckConstraint("verdict IN ('answer', 'not_covered')", name=op.f("ck_labels_verdict")),
    )


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("workshop_votes")
    op.drop_index("ix_workshop_questions_workshop", table_name="workshop_questions")
    op.drop_table("workshop_questions")
    op.drop_index(op.f("ix_workshops_delete_after"), table_name="workshops")
    op.drop_table("workshops")

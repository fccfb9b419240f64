"""The tables, as SQLAlchemy Core metadata (the stores query these; the Alembic revisions
under ``migrations/versions`` create them, and a test checks that the two agree).

Times are UTC (``DateTime(timezone=True)``; SQLite hands them back naive, see ``utc``).
Participants are stored as a SHA-256 of their anonymous id, never the id itself, so neither a
database dump nor the trainer's view lets anyone act as another participant.

Example:
    >>> from assistant.db.schema import metadata
    >>> sorted(metadata.tables)
    ['labels', 'workshop_questions', 'workshop_votes', 'workshops']
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

# Named constraints, so a later revision can drop or alter them on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

QUESTION_STATES = ("pending", "approved", "hidden")
ANSWER_STATES = ("pending", "answered", "failed")
VERDICTS = ("answer", "not_covered")

workshops = Table(
    "workshops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(6), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("delete_after", DateTime(timezone=True), nullable=False, index=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    # Bumped by every change to the workshop or its questions: the ETag of the lists.
    Column("revision", Integer, nullable=False, server_default="0"),
)

workshop_questions = Table(
    "workshop_questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workshop_id",
        Integer,
        ForeignKey("workshops.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("participant", String(64), nullable=False),
    Column("name", String(80), nullable=True),
    Column("text", Text, nullable=False),
    Column("state", String(10), nullable=False, server_default="pending"),
    Column("answered", Boolean, nullable=False, server_default=false()),
    Column("spotlight", Boolean, nullable=False, server_default=false()),
    Column("answer_status", String(10), nullable=False, server_default="pending"),
    Column("answer", Text, nullable=True),  # the assistant's Answer as JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("state IN ('pending', 'approved', 'hidden')", name="state"),
    CheckConstraint("answer_status IN ('pending', 'answered', 'failed')", name="answer_status"),
    # Listing a workshop's questions, and counting a participant's recent ones (rate limit).
    Index("ix_workshop_questions_workshop", "workshop_id", "participant", "created_at"),
)

workshop_votes = Table(
    "workshop_votes",
    metadata,
    Column(
        "question_id",
        Integer,
        ForeignKey("workshop_questions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("participant", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
    Column("language", String(2), nullable=False),
    Column("verdict", String(12), nullable=False),
    Column("doc_id", String(300), nullable=True),
    Column("start", Integer, nullable=True),
    Column("end", Integer, nullable=True),
    Column("quote", Text, nullable=True),
    Column("fact", Text, nullable=True),
    # Feedback still lives in its own SQLite file, so no foreign key (yet).
    Column("feedback_id", Integer, nullable=True),
    Column("author", String(100), nullable=False),
    CheckConstraint("verdict IN ('answer', 'not_covered')", name="verdict"),
)


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns it naive).

    >>> utc(datetime(2026, 1, 2, 3, 4)).isoformat()
    '2026-01-02T03:04:00+00:00'
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)

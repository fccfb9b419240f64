"""The tables, as SQLAlchemy Core metadata (the stores query these; the Alembic revisions
under ``migrations/versions`` create them, and a test checks that the two agree).

Times are UTC (``DateTime(timezone=True)``; SQLite hands them back naive, see ``utc``).
Participants are stored as a SHA-256 of their anonymous id, never the id itself, so neither a
database dump nor the trainer's view lets anyone act as another participant.

Example:
    >>> from assistant.db.schema import metadata
    >>> sorted(metadata.tables)  # doctest: +NORMALIZE_WHITESPACE
    ['feedback', 'jobs', 'labels', 'legacy_imports', 'uploads', 'workshop_questions',
     'workshop_votes', 'workshops']
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
    LargeBinary,
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
RATINGS = ("up", "down")
JOB_STATES = ("queued", "running", "done", "failed")

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
    # No foreign key: a label may name feedback of an earlier version that was never imported.
    Column("feedback_id", Integer, nullable=True),
    Column("author", String(100), nullable=False),
    CheckConstraint("verdict IN ('answer', 'not_covered')", name="verdict"),
)

# Thumbs up/down on answers (CPR numbers masked before storing); evaluators draft cases
# from them. Same columns as the feedback.sqlite of earlier versions (imported once).
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("rating", String(4), nullable=False),
    Column("comment", Text, nullable=True),
    Column("request_id", String(200), nullable=True),
    Column("history", Text, nullable=True),  # the turns before a follow-up, as JSON
    CheckConstraint("rating IN ('up', 'down')", name="rating"),
)

# Ingestion jobs, claimed by one worker of any replica. A running job carries its worker's
# lease; a worker that dies stops renewing it, and another worker takes the job over.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("files", Text, nullable=False),  # JSON list of upload names
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("progress", Text, nullable=True),  # JSON
    Column("report", Text, nullable=True),  # JSON
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("worker", String(200), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    # The workers' poll: the oldest queued job, or a running one whose lease ran out.
    Index("ix_jobs_status", "status", "created_at"),
)

# The uploaded originals, so a worker on any machine can ingest them (and a rebuild re-read
# them). One row per safe file name; an upload with replace=true overwrites it.
uploads = Table(
    "uploads",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Files of earlier versions (feedback.sqlite, jobs.sqlite, uploads/) already copied in, by
# kind and absolute path: each is imported once.
legacy_imports = Table(
    "legacy_imports",
    metadata,
    Column("source", String(1000), primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns it naive).

    >>> utc(datetime(2026, 1, 2, 3, 4)).isoformat()
    '2026-01-02T03:04:00+00:00'
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)

"""Workshop rooms in the database: the room, its questions, votes, moderation and retention.

No HTTP here (that is ``assistant.api.routes_workshops``); every rule that must hold across
workers and replicas is enforced in one transaction: the per-participant rate limit counts and
inserts under the workshop's row lock, one vote per participant is the votes table's primary
key, one spotlight per room is cleared and set together. Every change bumps the workshop's
``revision``, which is what makes polling cheap (an ETag) across processes.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> from assistant.db.workshops import WorkshopStore
    >>> store = WorkshopStore(Database(f"sqlite:///{tempfile.mkdtemp()}/app.sqlite"))
    >>> room, token = store.create("Recovery", "da")
    >>> len(room.code), store.token_ok(room, token), store.token_ok(room, "guess")
    (6, True, False)
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from assistant.db.engine import Database
from assistant.db.schema import now, utc, workshop_questions, workshop_votes, workshops

# Read aloud and typed on a phone: no 0/O, 1/I/L, and upper case only (input is folded).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
PURGE_EVERY_S = 600.0
# A room takes at most this many times a participant's questions a minute (300 by default;
# 60 participants asking 3 each in one minute is 180).
ROOM_FACTOR = 30

State = Literal["open", "closed", "expired"]


class AlreadyVoted(Exception):
    pass


class RateLimited(Exception):
    """``room``: the whole room's limit, not the participant's."""

    def __init__(self, retry_after_s: int, room: bool = False) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s
        self.room = room


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str | None:
    """The code as stored, or None when it cannot be one (so it is never looked up).

    >>> normalise_code(" abc234 "), normalise_code("ABC0O1")
    ('ABC234', None)
    """
    folded = code.strip().upper()
    return folded if _CODE_RE.match(folded) else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def participant_key(participant_id: str) -> str:
    """What is stored for a participant: a digest, so the id itself stays a secret."""
    return _digest(participant_id)


@dataclass(frozen=True)
class Workshop:
    id: int
    code: str
    title: str
    language: str
    created_at: datetime
    expires_at: datetime
    delete_after: datetime
    closed_at: datetime | None
    revision: int
    token_hash: str

    def state(self, at: datetime | None = None) -> State:
        if self.closed_at is not None:
            return "closed"
        return "expired" if (at or now()) >= self.expires_at else "open"

    @classmethod
    def from_row(cls, row: Any) -> Workshop:
        closed = row["closed_at"]
        return cls(
            id=row["id"],
            code=row["code"],
            title=row["title"],
            language=row["language"],
            created_at=utc(row["created_at"]),
            expires_at=utc(row["expires_at"]),
            delete_after=utc(row["delete_after"]),
            closed_at=utc(closed) if closed is not None else None,
            revision=row["revision"],
            token_hash=row["token_hash"],
        )


class WorkshopStore:
    def __init__(
        self,
        db: Database,
        *,
        retention_days: int = 30,
        open_hours: float = 12.0,
        questions_per_minute: int = 10,
    ) -> None:
        self.db = db
        self.retention = timedelta(days=retention_days)
        self.open_for = timedelta(hours=open_hours)
        self.questions_per_minute = questions_per_minute
        self._last_purge = 0.0
        self.purge()

    # -- rooms ---------------------------------------------------------------------------

    def create(self, title: str, language: str) -> tuple[Workshop, str]:
        """A new room and its trainer token (returned once; only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        created = now()
        values = {
            "title": title,
            "language": language,
            "token_hash": _digest(token),
            "created_at": created,
            "expires_at": created + min(self.open_for, self.retention),
            "delete_after": created + self.retention,
        }
        for _ in range(20):  # 31**6 codes: a collision is rare, a second one rarer still
            try:
                with self.db.write() as conn:
                    new_id = conn.execute(
                        insert(workshops)
                        .values(code=new_code(), **values)
                        .returning(workshops.c.id)
                    ).scalar_one()
                    row = conn.execute(select(workshops).where(workshops.c.id == new_id))
                    return Workshop.from_row(row.mappings().one()), token
            except IntegrityError:
                continue
        raise RuntimeError("no free workshop code after 20 tries")

    def get(self, code: str) -> Workshop | None:
        """The room, or None for a malformed, unknown or past-retention code."""
        folded = normalise_code(code)
        if folded is None:
            return None
        self.maybe_purge()
        with self.db.read() as conn:
            row = conn.execute(select(workshops).where(workshops.c.code == folded))
            found = row.mappings().one_or_none()
        if found is None:
            return None
        room = Workshop.from_row(found)
        return None if room.delete_after <= now() else room

    @staticmethod
    def token_ok(room: Workshop, token: str | None) -> bool:
        # Digests of equal length, compared in constant time.
        return bool(token) and secrets.compare_digest(_digest(token or ""), room.token_hash)

    def close(self, room: Workshop) -> Workshop:
        with self.db.write() as conn:
            conn.execute(
                update(workshops)
                .where(workshops.c.id == room.id, workshops.c.closed_at.is_(None))
                .values(closed_at=now(), revision=workshops.c.revision + 1)
            )
            row = conn.execute(select(workshops).where(workshops.c.id == room.id))
            return Workshop.from_row(row.mappings().one())

    def delete(self, room: Workshop) -> None:
        with self.db.write() as conn:
            _delete_rooms(conn, workshops.c.id == room.id)

    def purge(self) -> int:
        """Delete every room past its retention (with its questions and votes)."""
        self._last_purge = time.monotonic()
        with self.db.write() as conn:
            return _delete_rooms(conn, workshops.c.delete_after <= now())

    def maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge >= PURGE_EVERY_S:
            self.purge()

    # -- questions -----------------------------------------------------------------------

    def add_question(
        self, room: Workshop, participant: str, text: str, name: str | None = None
    ) -> dict[str, Any]:
        """Store a participant's question (already masked), pending, unanswered.

        Raises :class:`RateLimited` when the participant asked ``questions_per_minute``
        questions in the last 60 s, or the room ``ROOM_FACTOR`` times as many: participant ids
        are anonymous, so a script joining again and again is bounded by the room's limit
        (each question costs an answer's CPU).
        """
        key = participant_key(participant)
        at = now()
        window = at - timedelta(seconds=60)
        with self.db.write() as conn:
            # Bump first: on PostgreSQL this locks the room's row, so two requests from one
            # participant cannot both count nine and both insert.
            _bump(conn, room.id)
            recent = (
                conn.execute(
                    select(workshop_questions.c.created_at)
                    .where(
                        workshop_questions.c.workshop_id == room.id,
                        workshop_questions.c.participant == key,
                        workshop_questions.c.created_at > window,
                    )
                    .order_by(workshop_questions.c.created_at)
                )
                .scalars()
                .all()
            )
            if len(recent) >= self.questions_per_minute:
                raise RateLimited(_wait(recent[0], at))
            in_room = (
                conn.execute(
                    select(workshop_questions.c.created_at)
                    .where(
                        workshop_questions.c.workshop_id == room.id,
                        workshop_questions.c.created_at > window,
                    )
                    .order_by(workshop_questions.c.created_at)
                    .limit(1)
                    .offset(self.questions_per_minute * ROOM_FACTOR - 1)
                )
                .scalars()
                .first()
            )
            if in_room is not None:
                # A question is free again when the oldest in the window leaves it.
                oldest = conn.execute(
                    select(func.min(workshop_questions.c.created_at)).where(
                        workshop_questions.c.workshop_id == room.id,
                        workshop_questions.c.created_at > window,
                    )
                ).scalar_one()
                raise RateLimited(_wait(oldest, at), room=True)
            new_id = conn.execute(
                insert(workshop_questions)
                .values(
                    workshop_id=room.id,
                    participant=key,
                    name=name,
                    text=text,
                    created_at=at,
                    updated_at=at,
                )
                .returning(workshop_questions.c.id)
            ).scalar_one()
        found = self.question(room, new_id, participant=participant)
        assert found is not None
        return found

    def set_answer(self, room: Workshop, question_id: int, answer: dict[str, Any] | None) -> None:
        """The assistant's answer (None: it could not answer, kept as ``failed``)."""
        with self.db.write() as conn:
            _bump(conn, room.id)
            conn.execute(
                update(workshop_questions)
                .where(
                    workshop_questions.c.id == question_id,
                    workshop_questions.c.workshop_id == room.id,
                )
                .values(
                    answer=json.dumps(answer, ensure_ascii=False) if answer else None,
                    answer_status="answered" if answer else "failed",
                    updated_at=now(),
                )
            )

    def questions(
        self, room: Workshop, *, participant: str | None = None, trainer: bool = False
    ) -> list[dict[str, Any]]:
        """The room's questions, oldest first. A trainer sees all; a participant the approved
        ones and their own pending ones; nobody but the trainer sees hidden ones."""
        key = participant_key(participant) if participant else None
        query = _question_query(key).where(workshop_questions.c.workshop_id == room.id)
        if not trainer:
            visible = workshop_questions.c.state == "approved"
            if key is not None:
                visible = or_(
                    visible,
                    and_(
                        workshop_questions.c.state == "pending",
                        workshop_questions.c.participant == key,
                    ),
                )
            query = query.where(visible)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(workshop_questions.c.id)).mappings().all()
        return [_question(row, key, trainer) for row in rows]

    def question(
        self,
        room: Workshop,
        question_id: int,
        *,
        participant: str | None = None,
        trainer: bool = False,
    ) -> dict[str, Any] | None:
        """One question of this room as ``questions`` would show it to this viewer, or None
        (another room's id, or one this viewer may not see)."""
        key = participant_key(participant) if participant else None
        query = _question_query(key).where(
            workshop_questions.c.workshop_id == room.id, workshop_questions.c.id == question_id
        )
        with self.db.read() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        if not trainer and not (
            row["state"] == "approved" or (row["state"] == "pending" and row["participant"] == key)
        ):
            return None
        return _question(row, key, trainer)

    def vote(self, room: Workshop, question_id: int, participant: str) -> None:
        """One vote per participant per question; raises :class:`AlreadyVoted`."""
        try:
            with self.db.write() as conn:
                _bump(conn, room.id)
                conn.execute(
                    insert(workshop_votes).values(
                        question_id=question_id,
                        participant=participant_key(participant),
                        created_at=now(),
                    )
                )
        except IntegrityError as exc:
            raise AlreadyVoted() from exc

    def moderate(
        self,
        room: Workshop,
        question_id: int,
        *,
        state: str | None = None,
        answered: bool | None = None,
        spotlight: bool | None = None,
    ) -> bool:
        """Change a question's state, answered mark or spotlight; False when the room has no
        such question. Spotlighting one takes the spotlight from the others and approves it
        (what is on the projector is public); hiding one takes it off the projector."""
        values: dict[str, Any] = {"updated_at": now()}
        if state is not None:
            values["state"] = state
            if state == "hidden":
                values["spotlight"] = False
        if answered is not None:
            values["answered"] = answered
        if spotlight is not None:
            values["spotlight"] = spotlight
            if spotlight:
                values["state"] = "approved"
        mine = and_(
            workshop_questions.c.workshop_id == room.id, workshop_questions.c.id == question_id
        )
        with self.db.write() as conn:
            _bump(conn, room.id)
            if spotlight:
                conn.execute(
                    update(workshop_questions)
                    .where(
                        workshop_questions.c.workshop_id == room.id,
                        workshop_questions.c.id != question_id,
                        workshop_questions.c.spotlight == true(),
                    )
                    .values(spotlight=False, updated_at=now())
                )
            changed = conn.execute(update(workshop_questions).where(mine).values(**values))
            return bool(changed.rowcount)

    def exportable(self, room: Workshop) -> list[dict[str, Any]]:
        """The approved questions with their answers, for the handout."""
        return [q for q in self.questions(room, trainer=True) if q["state"] == "approved"]


def _wait(oldest: datetime, at: datetime) -> int:
    """Whole seconds until ``oldest`` leaves the one-minute window (at least 1)."""
    return max(1, int((utc(oldest) + timedelta(seconds=60) - at).total_seconds() + 0.999))


def _bump(conn: Connection, room_id: int) -> None:
    conn.execute(
        update(workshops).where(workshops.c.id == room_id).values(revision=workshops.c.revision + 1)
    )


def _delete_rooms(conn: Connection, where: Any) -> int:
    # The foreign keys cascade, but saying it here keeps it true on a SQLite connection that
    # was opened without ``PRAGMA foreign_keys`` (a tool, a backup script).
    rooms = select(workshops.c.id).where(where)
    questions = select(workshop_questions.c.id).where(workshop_questions.c.workshop_id.in_(rooms))
    conn.execute(delete(workshop_votes).where(workshop_votes.c.question_id.in_(questions)))
    conn.execute(delete(workshop_questions).where(workshop_questions.c.workshop_id.in_(rooms)))
    return int(conn.execute(delete(workshops).where(where)).rowcount or 0)


def _question_query(key: str | None) -> Any:
    votes = (
        select(func.count())
        .where(workshop_votes.c.question_id == workshop_questions.c.id)
        .scalar_subquery()
        .label("votes")
    )
    columns: list[Any] = [workshop_questions, votes]
    if key is not None:
        voted = exists().where(
            workshop_votes.c.question_id == workshop_questions.c.id,
            workshop_votes.c.participant == key,
        )
        columns.append(voted.label("voted"))
    return select(*columns)


def _question(row: Any, key: str | None, trainer: bool) -> dict[str, Any]:
    """A question as the API shows it: never the participant digest."""
    answer = row["answer"]
    shown: dict[str, Any] = {
        "id": row["id"],
        "text": row["text"],
        "name": row["name"],
        "state": row["state"],
        "answered": bool(row["answered"]),
        "spotlight": bool(row["spotlight"]),
        "votes": int(row["votes"] or 0),
        "answer_status": row["answer_status"],
        "answer": json.loads(answer) if answer else None,
        "created_at": utc(row["created_at"]).isoformat(),
    }
    if not trainer:
        shown["mine"] = key is not None and row["participant"] == key
        shown["voted"] = bool(row.get("voted", False))
    return shown

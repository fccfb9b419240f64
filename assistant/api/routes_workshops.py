"""Workshops: a live room participants join by a short code, ask in, and vote in; the trainer
moderates with a secret token. Everything lives in the API's database (``assistant.db``), so
every worker and replica sees the same room.

Who is who:
- the **trainer** holds the token that ``POST /api/workshops`` returned once
  (``Authorization: Bearer <token>``); only its SHA-256 is stored, compared in constant time;
- a **participant** is an anonymous id from ``POST /api/workshops/{code}/join``, sent back as
  the ``X-Participant-Id`` header (or the cookie the join sets). No account, no name needed.

Lists are cheap to poll: each answer carries an ETag that changes with any change to the
room, and ``If-None-Match`` gets a 304 after one small query. ``GET …/events`` is the same as
server-sent events (a ``revision`` event per change) for clients that prefer a stream.

Example (against a running server)::

    import httpx
    room = httpx.post("http://127.0.0.1:8000/api/workshops",
                      json={"title": "Recovery", "language": "da"}).json()
    me = httpx.post(f"http://127.0.0.1:8000/api/workshops/{room['code']}/join").json()
    httpx.post(f"http://127.0.0.1:8000/api/workshops/{room['code']}/questions",
               json={"text": "Hvad er recovery?"},
               headers={"X-Participant-Id": me["participant_id"]})
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from assistant.api.answering import answer_question
from assistant.api.auth import bearer_token
from assistant.api.database import app_database
from assistant.api.deps import get_assistant
from assistant.api.errors import ApiError
from assistant.api.privacy import contains_cpr, cpr_warning, mask_cpr
from assistant.db import Database
from assistant.db.engine import redacted
from assistant.db.workshops import AlreadyVoted, RateLimited, Workshop, WorkshopStore
from assistant.handout import FORMATS, build_handout, render
from ingest.settings import Settings

log = logging.getLogger("kva.api.workshops")
router = APIRouter(prefix="/api/workshops", tags=["workshops"])

PARTICIPANT_HEADER = "X-Participant-Id"
PARTICIPANT_COOKIE = "kva_participant"
_PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
EVENT_POLL_S = 1.0
MAX_NAME_CHARS = 80

trainer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="TrainerToken",
    description="The workshop's trainer token (or, to create a workshop, KVA_API_KEY).",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(trainer_scheme)]


# -- schemas ---------------------------------------------------------------------------------


class WorkshopCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    language: Literal["da", "en"] = "da"


class WorkshopInfo(BaseModel):
    code: str
    title: str
    language: Literal["da", "en"]
    state: Literal["open", "closed", "expired"]
    join_url: str
    expires_at: str = Field(description="When the room stops taking questions (UTC).")
    delete_after: str = Field(description="When the room and its questions are deleted (UTC).")


class WorkshopCreated(WorkshopInfo):
    trainer_token: str = Field(description="Shown once: every moderation call needs it.")


class Joined(WorkshopInfo):
    participant_id: str = Field(description=f"Send it back as the {PARTICIPANT_HEADER} header.")


class QuestionCreate(BaseModel):
    text: str = Field(description="The question; CPR numbers are masked before it is stored.")
    name: str | None = Field(None, description="Optional; never required.")


class Question(BaseModel):
    id: int
    text: str
    name: str | None
    state: Literal["pending", "approved", "hidden"]
    answered: bool
    spotlight: bool
    votes: int
    answer_status: Literal["pending", "answered", "failed"]
    answer: dict[str, Any] | None = Field(description="The assistant's Answer (as /api/ask).")
    created_at: str
    mine: bool | None = Field(None, description="Participants: this question is yours.")
    voted: bool | None = Field(None, description="Participants: you voted for it.")
    warnings: list[str] = Field(
        default_factory=list, description="For the asker, e.g. that a CPR number was masked."
    )


class QuestionList(BaseModel):
    workshop: WorkshopInfo
    revision: int
    questions: list[Question]


class Voted(BaseModel):
    id: int
    votes: int


# -- dependencies ----------------------------------------------------------------------------


_open_lock = threading.Lock()


def _store(request: Request) -> WorkshopStore:
    """The app's store; the database is opened (and migrated) at start, and again here if
    that failed, so a database that comes back later needs no restart."""
    state = request.app.state
    store = getattr(state, "workshops", None)
    if store is not None:
        return store
    db = app_database(state)  # the 503 while the database is unreachable
    with _open_lock:
        store = getattr(state, "workshops", None)
        if store is None:
            store = state.workshops = open_workshops(state.settings, db)
    return store


def open_workshops(settings: Settings, db: Database | None = None) -> WorkshopStore:
    db = db or Database.from_settings(settings)
    return WorkshopStore(
        db,
        retention_days=settings.workshop_retention_days,
        open_hours=settings.workshop_open_hours,
        questions_per_minute=settings.workshop_questions_per_minute,
    )


def open_at_start(app: Any, settings: Settings) -> None:
    """Open and migrate the database when the app is built (purging old rooms); a failure is
    logged and retried by the first request that needs it."""
    try:
        app.state.workshops = open_workshops(settings)
        app.state.db = app.state.workshops.db
    except Exception as exc:
        url = settings.database_url or f"sqlite:///{settings.app_db_path}"
        log.error("could not open the database %s: %s", redacted(url), exc)
        app.state.workshops = None


StoreDep = Annotated[WorkshopStore, Depends(_store)]


def _room(store: WorkshopStore, code: str) -> Workshop:
    room = store.get(code)
    if room is None:
        raise ApiError(
            404,
            "workshop_not_found",
            "No workshop has this code (it may have been deleted). Check the code and try again.",
        )
    return room


def _trainer(store: WorkshopStore, room: Workshop, request: Request) -> None:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise ApiError(
            401,
            "trainer_token_required",
            "This needs the workshop's trainer token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not store.token_ok(room, token):
        raise ApiError(
            401,
            "invalid_trainer_token",
            "The trainer token is not this workshop's.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _trainer_room(store: WorkshopStore, code: str, request: Request) -> Workshop:
    """The room, for its trainer only (404 before 401: an unknown code says so first)."""
    room = _room(store, code)
    _trainer(store, room, request)
    return room


def _participant(request: Request, header: str | None) -> str | None:
    """The participant id sent (header, else the join's cookie), if any; a malformed one is
    refused."""
    value = header or request.cookies.get(PARTICIPANT_COOKIE)
    if value is not None and not _PARTICIPANT_RE.match(value):
        raise ApiError(
            422,
            "invalid_participant_id",
            f"{PARTICIPANT_HEADER} must be the id the join call returned.",
        )
    return value


def _joined(request: Request, header: str | None) -> str:
    """The participant id, which asking and voting need."""
    value = _participant(request, header)
    if value is None:
        raise ApiError(
            401,
            "participant_required",
            f"Join the workshop first (POST /api/workshops/{{code}}/join) and send the "
            f"participant id as the {PARTICIPANT_HEADER} header.",
        )
    return value


ParticipantHeader = Annotated[
    str | None,
    Header(alias=PARTICIPANT_HEADER, description="The id from the join call."),
]


def _info(room: Workshop, settings: Settings) -> dict[str, Any]:
    return {
        "code": room.code,
        "title": room.title,
        "language": room.language,
        "state": room.state(),
        "join_url": f"{settings.workshop_join_url}?code={room.code}",
        "expires_at": room.expires_at.isoformat(),
        "delete_after": room.delete_after.isoformat(),
    }


def _refuse_if_not_open(room: Workshop) -> None:
    state = room.state()
    if state == "closed":
        raise ApiError(
            409,
            "workshop_closed",
            "The trainer has closed this workshop; it takes no more questions or votes.",
        )
    if state == "expired":
        raise ApiError(
            409,
            "workshop_expired",
            "This workshop has ended (its time ran out); it takes no more questions or votes.",
        )


def _question_or_404(
    store: WorkshopStore, room: Workshop, question_id: int, **viewer: Any
) -> dict[str, Any]:
    found = store.question(room, question_id, **viewer)
    if found is None:
        raise ApiError(404, "question_not_found", "This workshop has no such question.")
    return found


# -- routes ----------------------------------------------------------------------------------

ROOM_404 = {404: {"description": "No workshop has this code."}}
PARTICIPANT = {**ROOM_404, 401: {"description": "No participant id (join first)."}}
TRAINER = {
    401: {"description": "No or wrong trainer token (`Authorization: Bearer <token>`)."},
    **ROOM_404,
}


@router.post(
    "",
    status_code=201,
    response_model=WorkshopCreated,
    responses={401: {"description": "KVA_API_KEY is set and the request lacks it."}},
)
def create_workshop(
    body: WorkshopCreate, request: Request, store: StoreDep, _bearer: BearerDep = None
) -> dict[str, Any]:
    """Start a workshop. Returns its code, join URL and the trainer token (shown only here).
    When the admin key is configured, starting one needs it."""
    settings: Settings = request.app.state.settings
    if settings.api_key:
        given = bearer_token(request.headers.get("authorization"))
        if given is None or not secrets.compare_digest(given.encode(), settings.api_key.encode()):
            raise ApiError(
                401,
                "unauthorized",
                "Starting a workshop needs the admin key: Authorization: Bearer <key>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    if not body.title.strip():
        raise ApiError(422, "empty_title", "The workshop needs a title.")
    room, token = store.create(mask_cpr(body.title.strip()), body.language)
    log.info("workshop created", extra={"workshop": room.code})
    return {**_info(room, settings), "trainer_token": token}


@router.get("/{code}", response_model=WorkshopInfo, responses=ROOM_404)
def get_workshop(code: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """Title, language and state of a workshop (what a join page shows first)."""
    return _info(_room(store, code), request.app.state.settings)


@router.post("/{code}/join", response_model=Joined, responses=ROOM_404)
def join_workshop(code: str, request: Request, response: Response, store: StoreDep) -> Any:
    """An anonymous participant id for this device; also set as a cookie for this room."""
    room = _room(store, code)
    participant_id = secrets.token_urlsafe(24)
    response.set_cookie(
        PARTICIPANT_COOKIE,
        participant_id,
        path=f"/api/workshops/{room.code}",
        max_age=int((room.delete_after - room.created_at).total_seconds()),
        httponly=True,
        samesite="lax",
    )
    return {**_info(room, request.app.state.settings), "participant_id": participant_id}


@router.delete("/{code}", status_code=204, responses=TRAINER)
def delete_workshop(code: str, request: Request, store: StoreDep, bearer: BearerDep = None) -> None:
    """Delete the workshop with all its questions and votes, at once (trainer)."""
    room = _trainer_room(store, code, request)
    store.delete(room)
    log.info("workshop deleted", extra={"workshop": room.code})


@router.post("/{code}/close", response_model=WorkshopInfo, responses=TRAINER)
def close_workshop(
    code: str, request: Request, store: StoreDep, bearer: BearerDep = None
) -> dict[str, Any]:
    """Stop taking questions and votes (trainer). Moderation and export still work."""
    room = _trainer_room(store, code, request)
    return _info(store.close(room), request.app.state.settings)


@router.post(
    "/{code}/questions",
    status_code=201,
    response_model=Question,
    responses={
        **PARTICIPANT,
        409: {"description": "The workshop is closed or has expired."},
        413: {"description": "The request body is over 1 MB."},
        422: {"description": "Empty or too long question, too long name."},
        429: {"description": "Too many questions from this participant in a minute."},
    },
)
async def ask_question(
    code: str,
    body: QuestionCreate,
    request: Request,
    store: StoreDep,
    participant_header: ParticipantHeader = None,
) -> dict[str, Any]:
    """Ask (a participant). Stored pending, with CPR numbers masked, and answered at once by
    the assistant (history-free); the trainer sees it as soon as it is stored."""
    settings: Settings = request.app.state.settings
    participant = _joined(request, participant_header)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "empty_question", "The question is empty.")
    if len(body.text) > settings.max_question_chars:
        raise ApiError(
            422,
            "question_too_long",
            f"The question has {len(body.text)} characters; the limit is "
            f"{settings.max_question_chars}.",
        )
    name = (body.name or "").strip() or None
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise ApiError(
            422, "name_too_long", f"The name has {len(name)} characters; the limit is 80."
        )
    room = await anyio.to_thread.run_sync(_room, store, code)
    _refuse_if_not_open(room)
    had_cpr = contains_cpr(text) or (name is not None and contains_cpr(name))
    masked = mask_cpr(text)
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: store.add_question(room, participant, masked, mask_cpr(name) if name else None)
        )
    except RateLimited as exc:
        if exc.room:
            raise ApiError(
                429,
                "workshop_busy",
                f"This workshop is taking very many questions right now; wait "
                f"{exc.retry_after_s} s before asking again.",
                headers={"Retry-After": str(exc.retry_after_s)},
            ) from exc
        raise ApiError(
            429,
            "too_many_questions",
            f"You have asked {store.questions_per_minute} questions in the last minute; "
            f"wait {exc.retry_after_s} s before asking again.",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    answer = await _answer(request, masked, had_cpr)
    await anyio.to_thread.run_sync(store.set_answer, room, stored["id"], answer)
    stored.update(answer=answer, answer_status="answered" if answer else "failed")
    if had_cpr:
        stored["warnings"] = [cpr_warning(room.language)]
    return stored


async def _answer(request: Request, question: str, had_cpr: bool) -> dict[str, Any] | None:
    """The assistant's answer as stored, or None when it cannot answer now (the question is
    kept either way, marked ``failed``)."""
    try:
        assistant = await get_assistant(request)
        settings: Settings = request.app.state.settings
        answer = await anyio.to_thread.run_sync(
            lambda: answer_question(assistant, question, max_chars=settings.max_question_chars)
        )
    except ApiError as exc:
        log.warning("workshop question not answered: %s", exc.code)
        return None
    except Exception:
        log.exception("workshop question not answered")
        return None
    if had_cpr:
        answer.warnings.append(cpr_warning(answer.language))
    # Timings describe this worker at this moment; nobody reading the room needs them.
    return answer.model_dump(mode="json", exclude={"timings_ms"})


@router.get(
    "/{code}/questions",
    response_model=QuestionList,
    responses={**TRAINER, 304: {"description": "Nothing changed since the ETag you sent."}},
)
def list_questions(
    code: str,
    request: Request,
    store: StoreDep,
    bearer: BearerDep = None,
    participant_header: ParticipantHeader = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """The room's questions, oldest first. With the trainer token: all, with their state and
    votes. Otherwise (a participant): the approved ones and your own pending ones."""
    room = _room(store, code)
    trainer = request.headers.get("authorization") is not None
    participant = None
    if trainer:
        _trainer(store, room, request)
    else:
        participant = _participant(request, participant_header)
    viewer = "t" if trainer else (participant or "-")
    etag = _etag(room, viewer)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    questions = store.questions(room, participant=participant, trainer=trainer)
    body = {
        "workshop": _info(room, request.app.state.settings),
        "revision": room.revision,
        "questions": questions,
    }
    return Response(
        json.dumps(body, ensure_ascii=False), media_type="application/json", headers=headers
    )


def _etag(room: Workshop, viewer: str) -> str:
    # The viewer is part of it: a participant's list differs from the trainer's and from
    # another participant's. Hashed, so the header never carries the participant id.
    seed = f"{room.id}:{room.revision}:{room.state()}:{viewer}"
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:24] + '"'


@router.get("/{code}/events", response_class=EventSourceResponse, responses=ROOM_404)
async def events(code: str, request: Request, store: StoreDep) -> EventSourceResponse:
    """Server-sent events: ``revision`` (``{"revision", "state"}``) at once and after every
    change to the room; ``deleted`` when it is gone. Fetch the list again on each."""
    room = await anyio.to_thread.run_sync(_room, store, code)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        last: tuple[int, str] | None = None
        while not await request.is_disconnected():
            current = await anyio.to_thread.run_sync(store.get, room.code)
            if current is None:
                yield ServerSentEvent(json.dumps({"code": room.code}), event="deleted")
                return
            seen = (current.revision, current.state())
            if seen != last:
                last = seen
                data = json.dumps({"revision": seen[0], "state": seen[1]})
                yield ServerSentEvent(data, event="revision")
            await asyncio.sleep(EVENT_POLL_S)

    return EventSourceResponse(stream(), ping=15)


@router.post(
    "/{code}/questions/{question_id}/vote",
    response_model=Voted,
    responses={
        **PARTICIPANT,
        409: {"description": "Already voted, question not approved, or workshop closed."},
    },
)
def vote(
    code: str,
    question_id: int,
    request: Request,
    store: StoreDep,
    participant_header: ParticipantHeader = None,
) -> dict[str, Any]:
    """Vote for an approved question (a participant, once per question)."""
    participant = _joined(request, participant_header)
    room = _room(store, code)
    found = _question_or_404(store, room, question_id, participant=participant)
    _refuse_if_not_open(room)
    if found["state"] != "approved":
        raise ApiError(409, "question_not_approved", "Only approved questions can get votes.")
    try:
        store.vote(room, question_id, participant)
    except AlreadyVoted as exc:
        raise ApiError(409, "already_voted", "You have already voted for this question.") from exc
    after = _question_or_404(store, room, question_id, participant=participant)
    return {"id": question_id, "votes": after["votes"]}


def _moderation(action: str, summary: str, **change: Any) -> None:
    def route(
        code: str,
        question_id: int,
        request: Request,
        store: StoreDep,
        bearer: BearerDep = None,
    ) -> dict[str, Any]:
        room = _trainer_room(store, code, request)
        if not store.moderate(room, question_id, **change):
            raise ApiError(404, "question_not_found", "This workshop has no such question.")
        return _question_or_404(store, room, question_id, trainer=True)

    route.__name__ = f"{action}_question"
    route.__doc__ = summary
    method = "DELETE" if action.startswith("un") else "POST"
    path = f"/{{code}}/questions/{{question_id}}/{action.removeprefix('un')}"
    router.add_api_route(
        path,
        route,
        methods=[method],
        response_model=Question,
        responses={**TRAINER, 404: {"description": "No such workshop or question."}},
        summary=summary.split(".")[0],
        description=summary,
    )


_moderation("approve", "Approve a question: participants see it (trainer).", state="approved")
_moderation("hide", "Hide a question: no participant sees it (trainer).", state="hidden")
_moderation(
    "spotlight",
    "Put a question on the projector (trainer). Only one at a time; it is approved too.",
    spotlight=True,
)
_moderation("unspotlight", "Take a question off the projector (trainer).", spotlight=False)
_moderation("answered", "Mark a question answered in the room (trainer).", answered=True)
_moderation("unanswered", "Take the answered mark off a question (trainer).", answered=False)


# -- export ----------------------------------------------------------------------------------

_MEDIA = {fmt: media for fmt, (media, _) in FORMATS.items()} | {"csv": "text/csv; charset=utf-8"}


@router.get(
    "/{code}/export",
    responses={
        **TRAINER,
        200: {"content": {m.split(";")[0]: {} for m in _MEDIA.values()}},
    },
)
def export(
    code: str,
    request: Request,
    store: StoreDep,
    format: Annotated[Literal["md", "csv", "docx", "pdf"], Query()] = "md",
    bearer: BearerDep = None,
) -> Response:
    """Every approved question with its answer and numbered sources (trainer), in the
    handout style of the chat's export; ``csv`` is one row per question."""
    room = _trainer_room(store, code, request)
    questions = store.exportable(room)
    if format == "csv":
        content: bytes = _csv(questions).encode("utf-8-sig")  # BOM: Excel reads æøå right
    else:
        content = _handout(room, questions, format)
    filename = f"workshop-{room.code}.{format}"
    return Response(
        content,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _handout(room: Workshop, questions: list[dict[str, Any]], format: str) -> bytes:
    messages = [
        {
            "role": "assistant",
            "question": q["text"],
            "answer": q["answer"]
            or {"answer": "–", "language": room.language, "abstained": False, "citations": []},
        }
        for q in questions
    ]
    handout = build_handout(messages, room.language, {}, date.today())
    handout.title = f"{handout.title}: {room.title}"
    try:
        return render(handout, format)
    except ImportError as exc:  # reportlab is in the dev extra; the lock installs it
        raise ApiError(
            501, "pdf_unavailable", "PDF export needs reportlab; use md, docx or csv."
        ) from exc


def _csv(questions: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "created_at", "name", "question", "votes", "answered", "answer", "sources"]
    )
    for q in questions:
        answer = q["answer"] or {}
        sources = "; ".join(
            f"[{c.get('n')}] {c.get('title') or c.get('doc_id')}"
            + (f", {c['section']}" if c.get("section") else "")
            + (f", p. {c['page']}" if c.get("page") is not None else "")
            for c in answer.get("citations") or []
        )
        writer.writerow(
            [
                q["id"],
                q["created_at"],
                q["name"] or "",
                q["text"],
                q["votes"],
                "yes" if q["answered"] else "no",
                answer.get("answer", ""),
                sources,
            ]
        )
    return buffer.getvalue()

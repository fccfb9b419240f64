"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (``stream`` too).

The last user message is the question, earlier user/assistant messages are the history; system,
developer and tool messages are ignored. Citations are appended to the reply text as a numbered
source list, since chat clients show only the message text.

For stock clients (Open WebUI, LibreChat, the ``llm`` CLI, LangChain): a usage chunk ends the
stream when ``stream_options.include_usage`` asks for it; background tasks ("### Task: …" title,
tags, follow-ups, search queries) are answered without retrieval (:mod:`chat_tasks`);
``response_format: json_object`` gets a JSON object; what cannot be honoured (``n`` > 1, a JSON
schema, a required tool call, an unknown model) is refused with a 400/404 in OpenAI's error
shape (``error.message``, ``error.type``, ``error.param``, ``error.code``).

Example (against a running server)::

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="x")
    client.chat.completions.create(model="kvalitetsassistenten",
        messages=[{"role": "user", "content": "Hvad er kvalitet?"}]).choices[0].message.content
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.api.answering import (
    answer_question,
    check_history,
    check_question,
    split_for_stream,
)
from assistant.api.chat_tasks import answer_task, is_task
from assistant.api.deps import get_assistant, get_settings
from assistant.api.errors import ApiError, error_body
from assistant.api.faults import storage_error
from assistant.api.schemas import refuse_lone_surrogates
from assistant.markup import neutralise
from assistant.models import Answer, Turn
from ingest.settings import Settings

log = logging.getLogger("kva.api.openai")
router = APIRouter(prefix="/v1", tags=["openai"])

MODEL_ID = "kvalitetsassistenten"
_CREATED = int(time.time())


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    # Open WebUI and others may send a list of parts: [{"type": "text", "text": "..."}].
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _text_parts_are_text(self) -> ChatMessage:
        # {"type": "text", "text": null} was read as the question "None".
        for i, part in enumerate(self.content if isinstance(self.content, list) else []):
            if part.get("type") == "text" and not isinstance(part.get("text"), str):
                raise ValueError(f"content[{i}].text must be a string (a text part's text)")
        return self

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p["text"] for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Clients send many knobs (temperature, top_p, user ...) that do not apply here.
    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    n: int | None = None
    stream_options: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    tool_choice: str | dict[str, Any] | None = None

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.get("include_usage"))

    @property
    def wants_json(self) -> bool:
        return bool(self.response_format and self.response_format.get("type") == "json_object")

    @model_validator(mode="after")
    def _valid_text(self) -> ChatRequest:
        refuse_lone_surrogates(self)
        return self


def _refuse(status: int, code: str, message: str, param: str | None = None) -> ApiError:
    """An error in the shape OpenAI clients parse (plus our request id)."""
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    return ApiError(status, code, message, type=kind, param=param)


def check_request(body: ChatRequest) -> None:
    """Refuse, up front and clearly, what this endpoint cannot honour."""
    if body.model != MODEL_ID:
        raise _refuse(
            404,
            "model_not_found",
            f"The model {body.model!r} does not exist; this service offers {MODEL_ID!r} "
            "(see GET /v1/models).",
            "model",
        )
    if body.n is not None and body.n != 1:
        raise _refuse(400, "unsupported_n", "Only n=1 is supported: there is one answer.", "n")
    kind = (body.response_format or {}).get("type", "text")
    if kind not in ("text", "json_object"):
        raise _refuse(
            400,
            "unsupported_response_format",
            f"response_format {kind!r} is not supported; use 'text' or 'json_object'.",
            "response_format",
        )
    choice = body.tool_choice
    if choice not in (None, "none", "auto"):
        raise _refuse(
            400,
            "tools_not_supported",
            "This assistant cannot call tools; tool_choice must be 'none' or 'auto'.",
            "tool_choice",
        )


def format_reply(answer: Answer) -> str:
    """Answer text plus a numbered source list the way a chat client can show it.

    >>> from assistant.models import Answer, Citation
    >>> c = Citation(n=1, doc_id="d", title="T", language="da", section="S", quote="q",
    ...              start=0, end=1, score=1.0)
    >>> print(format_reply(Answer(answer="Svar [1].", language="da", abstained=False,
    ...                           citations=[c])))
    Svar [1].
    <BLANKLINE>
    Kilder:
    [1] T — S: "q"
    """
    lines = [answer.answer]
    if answer.citations:
        lines += ["", "Kilder:" if answer.language == "da" else "Sources:"]
    for c in answer.citations:
        # Chat clients render Markdown and HTML: the source list shows words, not markup.
        where = f" — {neutralise(c.section)}" if c.section else ""
        page = f" ({'s.' if answer.language == 'da' else 'p.'} {c.page})" if c.page else ""
        quote = " ".join(neutralise(c.quote).split())
        lines.append(f'[{c.n}] {neutralise(c.title)}{where}{page}: "{quote}"')
    if answer.warnings:
        # Chat clients show only the text, so warnings (e.g. about CPR numbers) go in it.
        lines += ["", *(f"⚠ {w}" for w in answer.warnings)]
    return "\n".join(lines)


def _split_messages(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message and the user/assistant turns before it. A tool round after it
    (the assistant's tool call and the tool's result, replayed by a client) is not a
    question, so the user message before it is answered."""
    end = len(messages)
    while end > 0 and (
        messages[end - 1].role in ("tool", "system", "developer")
        or (
            messages[end - 1].role == "assistant" and getattr(messages[end - 1], "tool_calls", None)
        )
    ):
        end -= 1
    if end == 0 or messages[end - 1].role != "user":
        raise ApiError(422, "invalid_request", "The last message must be from the user.")
    history = [
        Turn(role=m.role, content=m.text())  # type: ignore[arg-type]
        for m in messages[: end - 1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[end - 1].text(), history


def _as_json(answer: Answer) -> str:
    """The answer as one JSON object, for ``response_format: json_object``."""
    return json.dumps(
        {
            "answer": neutralise(answer.answer),
            "language": answer.language,
            "abstained": answer.abstained,
            "sources": [
                {
                    "n": c.n,
                    "title": neutralise(c.title),
                    "doc_id": c.doc_id,
                    "quote": neutralise(c.quote),
                }
                for c in answer.citations
            ],
            "warnings": answer.warnings,
        },
        ensure_ascii=False,
    )


def _usage(body: ChatRequest, reply: str) -> dict[str, int]:
    # Word counts: the answer is not (only) written by a model, so there is no tokenizer.
    prompt_tokens = sum(len(m.text().split()) for m in body.messages)
    completion_tokens = len(reply.split())
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _chunk(
    cid: str,
    model: str,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
    with_usage: bool = False,
) -> str:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        # The usage chunk has no choices, as OpenAI sends it.
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if with_usage:
        body["usage"] = usage
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


@router.get("/models")
def list_models() -> dict[str, Any]:
    """The one model this service offers."""
    model = {"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "kva"}
    return {"object": "list", "data": [model]}


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatRequest,
    assistant: Annotated[Any, Depends(get_assistant)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any] | StreamingResponse:
    """Chat completion; with ``stream: true`` a ``chat.completion.chunk`` SSE stream."""
    check_request(body)
    question, history = _split_messages(body.messages)
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    task_reply = answer_task(question) if is_task(question) else None
    if task_reply is None:
        check_question(question, settings.max_question_chars)
        check_history(history, settings)
    else:
        log.info("client task answered without retrieval", extra={"task": question[:60]})

    def run() -> str:
        if task_reply is not None:
            return task_reply
        answer = answer_question(
            assistant, question, max_chars=settings.max_question_chars, history=history
        )
        return _as_json(answer) if body.wants_json else format_reply(answer)

    if not body.stream:
        reply = await anyio.to_thread.run_sync(run)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(body, reply),
        }

    with_usage = body.wants_usage

    async def stream() -> AsyncIterator[str]:
        yield _chunk(cid, body.model, {"role": "assistant", "content": ""}, with_usage=with_usage)
        try:
            reply = await anyio.to_thread.run_sync(run)
        except ApiError as exc:
            yield f"data: {json.dumps(error_body(exc.code, exc.message))}\n\n"
            yield "data: [DONE]\n\n"
            return
        except Exception as exc:
            log.exception("streamed chat completion failed")
            fault = storage_error(exc)
            err = (
                error_body(fault.code, fault.message)
                if fault
                else error_body("internal_error", "The answer could not be produced.")
            )
            yield f"data: {json.dumps(err)}\n\n"
            yield "data: [DONE]\n\n"
            return
        # The answer is complete and verified before the first word goes out.
        for piece in split_for_stream(reply):
            yield _chunk(cid, body.model, {"content": piece}, with_usage=with_usage)
        yield _chunk(cid, body.model, {}, finish="stop", with_usage=with_usage)
        if with_usage:
            yield _chunk(cid, body.model, None, usage=_usage(body, reply), with_usage=True)
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )

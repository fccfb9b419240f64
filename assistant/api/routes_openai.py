"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (``stream`` too).

The last user message is the question, earlier user/assistant messages are the history, system
messages are ignored. Citations are appended to the reply text as a numbered source list, since
chat clients show only the message text.

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
from assistant.api.deps import get_assistant, get_settings
from assistant.api.errors import ApiError, error_body
from assistant.api.schemas import refuse_lone_surrogates
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

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Clients send many knobs (temperature, top_p, user ...) that do not apply here.
    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False

    @model_validator(mode="after")
    def _valid_text(self) -> ChatRequest:
        refuse_lone_surrogates(self)
        return self


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
        where = f" — {c.section}" if c.section else ""
        page = f" ({'s.' if answer.language == 'da' else 'p.'} {c.page})" if c.page else ""
        quote = " ".join(c.quote.split())
        lines.append(f'[{c.n}] {c.title}{where}{page}: "{quote}"')
    if answer.warnings:
        # Chat clients show only the text, so warnings (e.g. about CPR numbers) go in it.
        lines += ["", *(f"⚠ {w}" for w in answer.warnings)]
    return "\n".join(lines)


def _split_messages(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    if messages[-1].role != "user":
        raise ApiError(422, "invalid_request", "The last message must be from the user.")
    history = [
        Turn(role=m.role, content=m.text())  # type: ignore[arg-type]
        for m in messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[-1].text(), history


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
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
    question, history = _split_messages(body.messages)
    check_question(question, settings.max_question_chars)
    check_history(history, settings)
    cid = f"chatcmpl-{uuid.uuid4().hex}"

    def run() -> Answer:
        return answer_question(
            assistant, question, max_chars=settings.max_question_chars, history=history
        )

    if not body.stream:
        answer = await anyio.to_thread.run_sync(run)
        reply = format_reply(answer)
        prompt_tokens = sum(len(m.text().split()) for m in body.messages)
        completion_tokens = len(reply.split())
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
            # Word counts: there is no generative model and so no tokenizer to count with.
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    async def stream() -> AsyncIterator[str]:
        yield _chunk(cid, body.model, {"role": "assistant", "content": ""})
        try:
            answer = await anyio.to_thread.run_sync(run)
        except ApiError as exc:
            yield f"data: {json.dumps(error_body(exc.code, exc.message))}\n\n"
            yield "data: [DONE]\n\n"
            return
        except Exception:
            log.exception("streamed chat completion failed")
            err = error_body("internal_error", "The answer could not be produced.")
            yield f"data: {json.dumps(err)}\n\n"
            yield "data: [DONE]\n\n"
            return
        reply = format_reply(answer)
        for piece in split_for_stream(reply):
            yield _chunk(cid, body.model, {"content": piece})
        yield _chunk(cid, body.model, {}, finish="stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )

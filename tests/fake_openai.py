"""A small OpenAI-compatible chat server on loopback that replays scripted completions.

Each request to ``POST /v1/chat/completions`` takes the next script entry: a reply text (or a
function of the request body that returns one), sent as one JSON completion or, when the client
asks for ``stream: true``, as ``chat.completion.chunk`` server-sent events; or an ``Fail``
(an HTTP status with an OpenAI error body, e.g. 429) or ``Slow`` (sleeps before answering, to
trip the client's timeout). Requests are recorded for assertions.

Example::

    with FakeOpenAI(["Bostøtte gives efter § 85 [1]."]) as server:
        ChatOpenAI(base_url=server.url, api_key="x", model="m").invoke("hi").content
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class Fail:
    status: int
    message: str = "scripted failure"


@dataclass
class Slow:
    seconds: float
    reply: Reply = "late"


class FakeOpenAI:
    def __init__(self, script: list[Reply | Fail | Slow] | None = None) -> None:
        self.script: list[Reply | Fail | Slow] = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.requests.append(body)
                    step = outer.script.pop(0) if outer.script else "Ingen svar [1]."
                if isinstance(step, Slow):
                    time.sleep(step.seconds)
                    step = step.reply
                if isinstance(step, Fail):
                    self._json(
                        step.status,
                        {"error": {"message": step.message, "type": "error", "code": None}},
                    )
                    return
                text = step(body) if callable(step) else step
                if body.get("stream"):
                    self._stream(body, text)
                else:
                    self._json(200, _completion(body, text))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = text.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                for piece in [""] + pieces:
                    delta = {"content": piece} if piece else {"role": "assistant", "content": ""}
                    self._event(_chunk(body, delta, None))
                self._event(_chunk(body, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *steps: Reply | Fail | Slow) -> None:
        with self._lock:
            self.script.extend(steps)


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def passage_number(body: dict[str, Any], snippet: str) -> int:
    """The number the prompt gave the passage containing ``snippet`` (for scripted replies)."""
    import re

    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    for m in re.finditer(r'<passage n="(\d+)"[^>]*>(.*?)</passage>', user, re.S):
        if snippet in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"no passage in the prompt contains {snippet!r}")

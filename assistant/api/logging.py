"""Structured logs: one JSON object per line, CPR numbers masked, request id attached.

Every record that goes through :class:`JsonFormatter` has its message, its extra fields and its
exception text masked with :func:`assistant.api.privacy.mask_cpr`, so a CPR number typed into a
question or a search URL never reaches a log file.

Example:
    >>> import io, logging
    >>> from assistant.api.logging import JsonFormatter
    >>> h = logging.StreamHandler(buf := io.StringIO()); h.setFormatter(JsonFormatter())
    >>> log = logging.getLogger("doctest.kva"); log.addHandler(h); log.propagate = False
    >>> log.warning("asked", extra={"question": "cpr 010203-1234"})
    >>> "010203-1234" in buf.getvalue(), "******-****" in buf.getvalue()
    (False, True)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from assistant.api.privacy import mask_any, mask_cpr

request_id_var: ContextVar[str | None] = ContextVar("kva_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged too.
# uvicorn's color_message duplicates msg with terminal colour codes.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}
_HANDLER_NAME = "kva-json"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_cpr(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = mask_cpr(str(request_id))
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                entry[key] = mask_any(value)
        if record.exc_info:
            entry["exc"] = mask_cpr(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time: test runners swap it and close the old
    one, and a server thread still logging its shutdown must not hit a closed stream."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def configure_logging(stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """Send the root logger (and uvicorn's) to JSON lines on ``stream`` (stderr by default).

    Idempotent: calling it again replaces our handler instead of adding a second one.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Uvicorn's own handlers print plain text (and its access log prints raw query strings,
    # which may hold a CPR number): route everything through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def ensure_logging() -> None:
    """Configure JSON logging unless someone (a test, ``serve``) already did."""
    if not any(h.get_name() == _HANDLER_NAME for h in logging.getLogger().handlers):
        configure_logging()


def monotonic_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)

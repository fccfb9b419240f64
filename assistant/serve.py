"""``python -m assistant serve``: run the HTTP service with uvicorn.

The app is passed as an import string with ``factory=True`` so that ``--workers N`` can start N
processes, each building its own app (and loading its own models). Uvicorn's access log is off:
ours (JSON lines, CPR masked, with request ids) replaces it.

Example:
    python -m assistant serve --host 127.0.0.1 --port 8000 --workers 2
    python -m assistant.serve --port 8000        # the same, without the CLI wiring
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import h11
import uvicorn
from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from assistant.api.logging import configure_logging
from ingest.settings import get_settings

APP_FACTORY = "assistant.api.app:create_app"
# With --workers the supervisor pings each worker and kills it after this many silent seconds.
# Loading the models can starve the ping thread of the GIL for longer than uvicorn's default 5 s
# on a busy machine, which made workers die and restart in a loop, never becoming ready.
# A worker that dies is noticed at once all the same (:class:`Supervisor`).
WORKER_HEALTHCHECK_S = 120
# Request heads: h11 refuses (431/400) a head past this size before it is parsed whole;
# httptools would accept 100 KB of headers. The app refuses too many headers on its own.
MAX_HEAD_BYTES = 16 * 1024
PROTOCOL = "assistant.serve:HeadTimeoutProtocol"


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request head (slowloris).

    A head must arrive whole within ``KVA_HEAD_TIMEOUT_S`` of the connection (or of the end
    of the previous response, on a kept-alive one): uvicorn has no such timeout, so slow
    partial heads held connections open for ever (1,000 of them in the campaign). The
    deadline is for the whole head, not renewed by each byte.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout_s = get_settings().head_timeout_s
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # a head begun on a kept-alive connection
        else:
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel_head_timer()  # the keep-alive timer guards an idle connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, noticing a killed worker at once.

    uvicorn pings each worker over a pipe and waits up to ``timeout_worker_healthcheck`` for
    the answer. The supervisor kept the worker's end of that pipe open too, so a worker killed
    while a ping was out left it waiting the whole timeout (120 s) before starting a new one.
    Closing the supervisor's copy of that end once the worker runs makes a dead worker's pipe
    read as closed: it is replaced within the supervisor's next 0.5 s round.
    """

    def keep_subprocess_alive(self) -> None:
        for process in self.processes:
            if process.process.pid is not None and not process.child_conn.closed:
                process.child_conn.close()
        super().keep_subprocess_alive()


def build_config(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> Config:
    """uvicorn's configuration for ``assistant serve``."""
    return Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        access_log=False,
        log_config=None,
        timeout_keep_alive=15,
        http=PROTOCOL,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Block serving the API until interrupted."""
    configure_logging()
    config = build_config(host, port, workers)
    if config.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # What uvicorn.run does for --workers, with the supervisor above.
    Supervisor(config, sockets=[config.bind_socket()]).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="assistant serve", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()

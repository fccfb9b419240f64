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

import uvicorn

from assistant.api.logging import configure_logging

APP_FACTORY = "assistant.api.app:create_app"
# With --workers the supervisor pings each worker and kills it after this many silent seconds.
# Loading the models can starve the ping thread of the GIL for longer than uvicorn's default 5 s
# on a busy machine, which made workers die and restart in a loop, never becoming ready.
WORKER_HEALTHCHECK_S = 120
# Request heads: h11 refuses (431/400) a head past this size before it is parsed whole;
# httptools would accept 100 KB of headers. The app refuses too many headers on its own.
MAX_HEAD_BYTES = 16 * 1024


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Block serving the API until interrupted."""
    configure_logging()
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        access_log=False,
        log_config=None,
        timeout_keep_alive=15,
        http="h11",
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="assistant serve", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()

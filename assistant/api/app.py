"""The FastAPI application factory.

The Assistant (store + embedding model, a few seconds) loads in a background thread started by
the lifespan, so ``/healthz`` answers at once and ``/readyz`` turns 200 when loading is done;
a request that needs the Assistant meanwhile waits for it (``ready_wait_s``) instead of a 503.
A worker of ``--workers N`` stops when its uvicorn master dies (``parent_watch``).
Uvicorn can import the factory by name, which is what makes ``--workers`` possible.

Example:
    >>> from assistant.api.app import create_app
    >>> from ingest.settings import Settings
    >>> app = create_app(Settings(data_dir="/tmp/kva-doc"))
    >>> app.title
    'Kvalitetsassistenten'

    uvicorn --factory assistant.api.app:create_app --port 8000
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi_offline import FastAPIOffline

from assistant.api import (
    routes_ask,
    routes_documents,
    routes_labels,
    routes_misc,
    routes_openai,
    routes_study,
    routes_workshops,
)
from assistant.api.auth import AdminGateMiddleware
from assistant.api.database import app_database
from assistant.api.errors import install_error_handlers
from assistant.api.faults import install_fault_handlers
from assistant.api.jobs import IngestQueue, JobStore, Progress
from assistant.api.limits import (
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    RateLimitMiddleware,
)
from assistant.api.logging import ensure_logging
from assistant.api.middleware import RequestContextMiddleware
from assistant.api.parent_watch import watch_parent
from ingest.settings import Settings, get_settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

log = logging.getLogger("kva.api")

JSON_BODY_LIMIT = 1024 * 1024  # JSON bodies; uploads get their own, larger cap per route


LOAD_RETRY_S = 5.0  # a replica that starts while its database is down tries again this often


def _load_assistant(app: FastAPI, settings: Settings) -> None:
    from assistant.api.faults import server_unreachable

    try:
        while True:
            try:
                from assistant.pipeline import Assistant

                assistant = Assistant(settings)
                _warm_up(assistant)
                app.state.assistant = assistant
                app.state.load_error = None
                log.info("assistant loaded")
                return
            except Exception as exc:
                app.state.load_error = f"{type(exc).__name__}: {exc}"
                if not server_unreachable(exc):
                    log.exception("assistant failed to load")
                    return
                # The database is down (or not up yet): /readyz says so; load when it is back.
                log.warning("assistant waits for the database: %s", str(exc).splitlines()[0])
                time.sleep(LOAD_RETRY_S)
    finally:
        app.state.loading = False


# Long enough that language detection cannot take its short-text shortcut: the first real
# question then finds the language models, caches and the composer's tables built.
WARM_UP_QUESTIONS = (
    "Hvad er kvalitet på botilbud og i bostøtte, og hvordan bliver den målt i praksis?",
    "What is quality in housing support, and how is it measured in everyday practice?",
)


def _warm_up(assistant: Assistant) -> None:
    """Answer a question in each language before /readyz says ready, so that the first
    person's question is as fast as the tenth (it took 4-6 s: the language detector and
    whatever else the first answer builds)."""
    started = time.perf_counter()
    for question in WARM_UP_QUESTIONS:
        try:
            assistant.ask(question)
        except Exception:  # noqa: BLE001 - a store problem is /readyz's to report, not ours
            log.warning("warm-up question failed", exc_info=True)
            return
    log.info("warmed up", extra={"duration_ms": round((time.perf_counter() - started) * 1000)})


def _ingest_runner(
    app: FastAPI, settings: Settings
) -> tuple[Callable[[list[Path], Progress], dict[str, Any]], Callable[[], None]]:
    def run(paths: list[Path], progress: Progress) -> dict[str, Any]:
        from ingest.pipeline import Indexer

        report = Indexer(settings, progress=progress).run(paths)
        return report.model_dump()

    def refresh() -> None:
        assistant = getattr(app.state, "assistant", None)
        if assistant is not None:
            assistant.refresh()

    return run, refresh


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. ``assistant`` is for tests and embedding; normally it loads itself."""
    ensure_logging()
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.start()
        watch_parent()
        if app.state.assistant is None:
            app.state.loading = True
            threading.Thread(
                target=_load_assistant, args=(app, settings), name="kva-load", daemon=True
            ).start()
        yield
        app.state.jobs.stop()

    # /docs and /redoc from the package's bundled Swagger UI / ReDoc files: no CDN, so the
    # docs work offline like everything else.
    app = FastAPIOffline(
        title="Kvalitetsassistenten",
        description="Questions and answers with citations over published material on quality "
        "in Danish social psychiatry. OpenAI-compatible endpoints under /v1.",
        version="0.1.0",
        lifespan=lifespan,
        # No online validator badge either (Swagger UI would fetch it from swagger.io).
        swagger_ui_parameters={"validatorUrl": None},
        redoc_url=None,  # served below
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.load_error = None
    app.state.loading = False
    routes_workshops.open_at_start(app, settings)  # the database: opened and migrated
    app.state.legacy_imported = False
    if getattr(app.state, "db", None) is not None:
        try:  # feedback and jobs files of an earlier version, copied in once
            app_database(app.state)
        except Exception:
            log.exception("importing the data dir's earlier files failed; retried on use")
    run, refresh = _ingest_runner(app, settings)
    # Jobs, their files and feedback live in the database, so any replica serves any of them.
    app.state.jobs = IngestQueue(
        JobStore(lambda: app_database(app.state), lease_s=settings.job_lease_s),
        run,
        refresh,
        uploads_dir=settings.uploads_dir,
    )

    install_error_handlers(app)
    install_fault_handlers(app)
    # Added first = runs inside the request-id middleware, so its 413s carry a request id.
    upload_cap = routes_documents.upload_body_cap(settings)
    app.add_middleware(
        BodyLimitMiddleware,
        default=JSON_BODY_LIMIT,
        overrides={("POST", "/api/documents"): upload_cap},
    )
    # Outside the body limit: a request without the admin key is refused before its body.
    app.add_middleware(
        AdminGateMiddleware,
        api_key=settings.api_key,
        routes=[("POST", "/api/documents"), ("DELETE", "/api/documents/")],
    )
    # Anonymous writes: refused before their body is read once a client is over the rate.
    app.add_middleware(
        RateLimitMiddleware,
        routes=[("POST", "/api/feedback")],
        limit=lambda scope: scope["app"].state.settings.feedback_per_minute,
    )
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(routes_misc.router)
    app.include_router(routes_ask.router)
    app.include_router(routes_documents.build_router())
    app.include_router(routes_openai.router)
    app.include_router(routes_workshops.router)
    app.include_router(routes_study.router)
    app.include_router(routes_labels.router)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        # fastapi-offline's ReDoc page; its bundle also shows Redocly's logo from cdn.redoc.ly,
        # so the page may load images from this server only (the logo is then left out).
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url="/static-offline-docs/redoc.standalone.js",
            redoc_favicon_url="/static-offline-docs/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app

"""One engine per database URL, migrated to the newest schema when it is opened.

SQLite gets WAL (readers never wait for the writer), a busy timeout (a writer waits for
another worker's write instead of failing) and ``BEGIN IMMEDIATE`` for write transactions (a
deferred transaction that reads, then writes, fails at once when another worker wrote in
between; an immediate one waits its turn). PostgreSQL gets pre-ping, so a restarted server
costs one failed checkout, not a broken pool.

Example:
    >>> from assistant.db.engine import normalise_url
    >>> normalise_url("postgresql://kva@db/kva")
    'postgresql+psycopg://kva@db/kva'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ingest.settings import Settings
from ingest.store.base import CONNECT_TIMEOUT_S

SQLITE_BUSY_TIMEOUT_MS = 15_000
_WRITE = "kva_write"


def database_url(settings: Settings) -> str:
    """``KVA_DATABASE_URL``, or the SQLite file under the data dir."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    return f"sqlite:///{settings.app_db_path}"


def normalise_url(url: str) -> str:
    """Pick the drivers we ship: psycopg 3 for PostgreSQL (SQLAlchemy's default is psycopg2)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)
    if backend == "sqlite":
        return url
    raise ValueError(f"KVA_DATABASE_URL must be postgresql://… or sqlite:///…, not {backend}://…")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """An engine plus ``read()``/``write()`` transactions; migrated on construction.

    ``migrate=False`` is for tests that want to run the migrations themselves.
    """

    def __init__(self, url: str, *, migrate: bool = True, **engine_kw: Any) -> None:
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url, **engine_kw)
        self.dialect = self.engine.dialect.name
        if migrate:
            from assistant.db.migrate import upgrade

            upgrade(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if not settings.database_url:
            settings.app_db_path.parent.mkdir(parents=True, exist_ok=True)
        return cls(database_url(settings))

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({redacted(self.url)!r})"


def _make_engine(url: str, **kw: Any) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        kw.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        return create_engine(url, pool_pre_ping=True, **kw)
    engine = create_engine(url, **kw)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver's own transaction handling would leave DDL outside transactions and
        # could not begin IMMEDIATE; we emit BEGIN ourselves (SQLAlchemy's documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a commit is one fsync less
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine

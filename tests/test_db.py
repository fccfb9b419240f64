"""The API's database layer (assistant.db) on both backends: SQLite in a temporary folder and
a real PostgreSQL 16 started once per session from the ``pgserver`` wheel (as root it runs the
server as a system user ``pgserver`` it creates itself). Every test that takes ``db`` or
``db_url`` runs on both; PostgreSQL tests are skipped, with the reason, only where the server
cannot start.
"""

from __future__ import annotations

import doctest
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, func, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from assistant.db import Database, database_url
from assistant.db.engine import normalise_url
from assistant.db.labels import Label, LabelStore
from assistant.db.migrate import current_revision, head_revision, upgrade
from assistant.db.schema import labels, metadata, now, workshop_questions, workshop_votes, workshops
from assistant.db.workshops import (
    CODE_ALPHABET,
    ROOM_FACTOR,
    AlreadyVoted,
    RateLimited,
    WorkshopStore,
    normalise_code,
)
from ingest.settings import Settings

BACKENDS = ["sqlite", "postgresql"]


_PG: dict[str, Any] = {}


def _start_pg() -> str:
    """One server per session, even when several modules import the fixture (pytest would
    start a session fixture once per importing module). pgserver stops it, and deletes its
    folder, when the process exits."""
    if "url" in _PG:
        return _PG["url"]
    if "skip" in _PG:
        pytest.skip(_PG["skip"])
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            _PG["skip"] = "pgserver is not installed (it is in the dev extra: requirements.lock)"
            pytest.skip(_PG["skip"])
    # A short path: the server's Unix socket lives in it, and socket paths are limited to ~100.
    pgdata = Path(tempfile.mkdtemp(prefix="kva-pg-"))
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="delete")
    except Exception as exc:  # no useradd as root, no shared memory in a sandbox, ...
        shutil.rmtree(pgdata, ignore_errors=True)
        _PG["skip"] = f"PostgreSQL (pgserver) could not start here: {type(exc).__name__}: {exc}"
        pytest.skip(_PG["skip"])
    _PG["server"] = server
    _PG["url"] = server.get_uri()
    return _PG["url"]


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A PostgreSQL 16 server for the whole session (the URL of its ``postgres`` database)."""
    return _start_pg()


_counter = iter(range(1_000_000))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.sqlite'}"
        return
    root = normalise_url(request.getfixturevalue("pg_server_url"))
    name = f"kva_test_{next(_counter)}"
    admin = create_engine(root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(root).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# -- engine and migrations -------------------------------------------------------------------


def test_urls_pick_the_shipped_drivers(tmp_path: Path) -> None:
    assert normalise_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(ValueError, match="KVA_DATABASE_URL"):
        normalise_url("mysql://u@h/d")
    settings = Settings(data_dir=tmp_path)
    assert database_url(settings) == f"sqlite:///{tmp_path / 'app.sqlite'}"
    with_pg = Settings(data_dir=tmp_path, database_url="postgresql://kva@db/kva")
    assert database_url(with_pg) == "postgresql+psycopg://kva@db/kva"


def test_sqlite_is_shared_safely_between_workers(tmp_path: Path) -> None:
    db = Database.from_settings(Settings(data_dir=tmp_path / "new"))
    assert Path(db.url.removeprefix("sqlite:///")) == tmp_path / "new" / "app.sqlite"
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_build_exactly_the_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url, migrate=False)
    assert current_revision(db) is None
    upgrade(db)
    assert current_revision(db) == head_revision()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"workshops", "workshop_questions", "workshop_votes", "labels"} <= tables
    # Down and up again: the revision's downgrade is real too.
    upgrade_to_base(db)
    assert "workshops" not in inspect(db.engine).get_table_names()
    upgrade(db)
    assert current_revision(db) == head_revision()
    db.dispose()


def upgrade_to_base(db: Database) -> None:
    from alembic import command

    from assistant.db.migrate import alembic_config

    with db.write() as conn:
        command.downgrade(alembic_config(conn), "base")


def test_reopening_keeps_data_and_changes_nothing(db_url: str) -> None:
    first = Database(db_url)
    LabelStore(first).add(question="Hvad?", language="da", verdict="not_covered", author="a")
    first.dispose()
    again = Database(db_url)  # what a restarted worker, or a new version, does
    assert current_revision(again) == head_revision()
    assert [x.question for x in LabelStore(again).list()] == ["Hvad?"]
    again.dispose()


def test_workers_starting_together_migrate_once(db_url: str) -> None:
    errors: list[BaseException] = []
    opened: list[Database] = []

    def start() -> None:
        try:
            opened.append(Database(db_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(opened) == 4
    with opened[0].read() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    for database in opened:
        database.dispose()


# -- labels ----------------------------------------------------------------------------------


def test_labels_add_list_and_filter(db: Database) -> None:
    store = LabelStore(db)
    first = store.add(
        question="Hvad siger pejlemærke 3? Borger 010203-1234",
        language="da",
        verdict="answer",
        doc_id="pejlemaerker",
        start=10,
        end=42,
        quote="Et verbatim citat 010203-1234",
        fact="Borger 010203-1234 har ret",
        feedback_id=7,
        author="eva",
    )
    store.add(Label(question="Off topic?", language="en", verdict="not_covered", author="bo"))
    assert first.id is not None and first.created_at is not None
    listed = store.list()
    assert [x.author for x in listed] == ["eva", "bo"]
    assert "010203-1234" not in listed[0].question and "******-****" in listed[0].question
    assert "010203-1234" not in (listed[0].fact or "")
    assert listed[0].quote == "Et verbatim citat 010203-1234"  # the material's own words
    assert (listed[0].start, listed[0].end, listed[0].feedback_id) == (10, 42, 7)
    assert [x.author for x in store.list(feedback_id=7)] == ["eva"]
    assert [x.author for x in store.list(author="bo")] == ["bo"]


def test_labels_refuse_incomplete_or_invalid_rows(db: Database) -> None:
    store = LabelStore(db)
    with pytest.raises(ValidationError, match="doc_id, start and end"):
        store.add(question="Q", language="da", verdict="answer", author="a")
    with pytest.raises(ValidationError):
        store.add(question="Q", language="da", verdict="maybe", author="a")
    # The database refuses a bad verdict on its own too (a tool writing around the store).
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute(
            labels.insert().values(
                created_at=now(), question="Q", language="da", verdict="maybe", author="a"
            )
        )
    assert store.list() == []


# -- workshops -------------------------------------------------------------------------------

ALICE = "alice-participant-0001"
BOB = "bob-participant-000002"


def test_a_room_has_a_readable_code_and_a_hashed_token(db: Database) -> None:
    store = WorkshopStore(db)
    room, token = store.create("Recovery", "da")
    assert len(room.code) == 6 and set(room.code) <= set(CODE_ALPHABET)
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert store.get(room.code.lower()) == room
    assert store.get("ZZZZZZ") is None and store.get("bad code") is None
    assert normalise_code("0OO1IL") is None
    assert store.token_ok(room, token) and not store.token_ok(room, token + "x")
    assert not store.token_ok(room, None) and not store.token_ok(room, "")
    with db.read() as conn:
        stored = conn.execute(select(workshops.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    assert room.state() == "open"
    assert room.expires_at - room.created_at == timedelta(hours=12)
    assert room.delete_after - room.created_at == timedelta(days=30)


def test_participants_see_approved_and_their_own_pending_only(db: Database) -> None:
    store = WorkshopStore(db)
    room, _ = store.create("R", "da")
    other_room, _ = store.create("Other", "en")
    a = store.add_question(room, ALICE, "Alice asks", name="Alice")
    b = store.add_question(room, BOB, "Bob asks")
    hidden = store.add_question(room, ALICE, "Alice again")
    elsewhere = store.add_question(other_room, ALICE, "In another room")
    assert a["state"] == "pending" and a["mine"] and a["answer_status"] == "pending"
    assert store.moderate(room, b["id"], state="approved")
    assert store.moderate(room, hidden["id"], state="hidden")
    assert [q["text"] for q in store.questions(room, participant=ALICE)] == [
        "Alice asks",
        "Bob asks",
    ]
    assert [q["text"] for q in store.questions(room, participant=BOB)] == ["Bob asks"]
    assert [q["text"] for q in store.questions(room)] == ["Bob asks"]
    trainer = store.questions(room, trainer=True)
    assert [q["state"] for q in trainer] == ["pending", "approved", "hidden"]
    assert all("participant" not in q and "mine" not in q for q in trainer)
    # Another room's question id does not exist here, for anyone.
    assert store.question(room, elsewhere["id"], trainer=True) is None
    assert not store.moderate(room, elsewhere["id"], state="approved")
    assert store.question(room, hidden["id"], participant=ALICE) is None


def test_answers_are_stored_as_json(db: Database) -> None:
    store = WorkshopStore(db)
    room, _ = store.create("R", "da")
    q = store.add_question(room, ALICE, "Hvad?")
    answer = {"answer": "Svar [1].", "citations": [{"n": 1, "quote": "Svar æøå"}]}
    store.set_answer(room, q["id"], answer)
    failed = store.add_question(room, ALICE, "Og?")
    store.set_answer(room, failed["id"], None)
    by_id = {x["id"]: x for x in store.questions(room, trainer=True)}
    assert by_id[q["id"]]["answer"] == answer and by_id[q["id"]]["answer_status"] == "answered"
    assert by_id[failed["id"]]["answer"] is None
    assert by_id[failed["id"]]["answer_status"] == "failed"


def test_one_vote_per_participant_even_when_racing(db: Database) -> None:
    store = WorkshopStore(db)
    room, _ = store.create("R", "da")
    q = store.add_question(room, ALICE, "Vote for me")
    store.moderate(room, q["id"], state="approved")
    store.vote(room, q["id"], BOB)
    with pytest.raises(AlreadyVoted):
        store.vote(room, q["id"], BOB)
    outcomes: list[str] = []

    def vote(participant: str) -> None:
        try:
            store.vote(room, q["id"], participant)
            outcomes.append("ok")
        except AlreadyVoted:
            outcomes.append("again")

    voters = ["same-participant-000000"] * 5 + [f"participant-number-{i:04d}" for i in range(6)]
    threads = [threading.Thread(target=vote, args=(who,)) for who in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["again"] * 4 + ["ok"] * 7
    shown = store.question(room, q["id"], participant=BOB)
    assert shown is not None and shown["votes"] == 8 and shown["voted"]
    assert _count(db, workshop_votes) == 8


def test_the_rate_limit_counts_a_minute_per_participant(db: Database) -> None:
    store = WorkshopStore(db, questions_per_minute=3)
    room, _ = store.create("R", "da")
    for i in range(3):
        store.add_question(room, ALICE, f"q{i}")
    with pytest.raises(RateLimited) as caught:
        store.add_question(room, ALICE, "one too many")
    assert 1 <= caught.value.retry_after_s <= 60
    store.add_question(room, BOB, "Bob is not limited by Alice")
    # A minute later Alice may ask again.
    with db.write() as conn:
        conn.execute(
            update(workshop_questions).values(
                created_at=workshop_questions.c.created_at - timedelta(seconds=61)
            )
        )
    store.add_question(room, ALICE, "after a minute")
    assert _count(db, workshop_questions) == 5


def test_the_room_has_a_limit_too(db: Database) -> None:
    """Participant ids are anonymous: fresh ids cannot ask without bound."""
    store = WorkshopStore(db, questions_per_minute=1)
    room, _ = store.create("R", "da")
    other, _ = store.create("Other", "da")
    for i in range(ROOM_FACTOR):
        store.add_question(room, f"fresh-participant-{i:05d}", f"q{i}")
    with pytest.raises(RateLimited) as caught:
        store.add_question(room, "yet-another-participant", "one too many")
    assert caught.value.room and 1 <= caught.value.retry_after_s <= 60
    store.add_question(other, "yet-another-participant", "another room is not held back")


def test_one_spotlight_per_room_and_moderation_marks(db: Database) -> None:
    store = WorkshopStore(db)
    room, _ = store.create("R", "da")
    first = store.add_question(room, ALICE, "first")
    second = store.add_question(room, BOB, "second")
    store.moderate(room, first["id"], spotlight=True)
    store.moderate(room, second["id"], spotlight=True)
    by_id = {q["id"]: q for q in store.questions(room, trainer=True)}
    assert not by_id[first["id"]]["spotlight"] and by_id[second["id"]]["spotlight"]
    assert by_id[second["id"]]["state"] == "approved"  # on the projector = public
    store.moderate(room, second["id"], answered=True)
    store.moderate(room, second["id"], state="hidden")
    shown = store.question(room, second["id"], trainer=True)
    assert shown is not None
    assert shown["answered"] and not shown["spotlight"] and shown["state"] == "hidden"


def test_every_change_moves_the_revision(db: Database) -> None:
    store = WorkshopStore(db)
    room, _ = store.create("R", "da")
    seen = [room.revision]

    def revision() -> int:
        current = store.get(room.code)
        assert current is not None
        return current.revision

    q = store.add_question(room, ALICE, "q")
    seen.append(revision())
    store.set_answer(room, q["id"], {"answer": "a"})
    seen.append(revision())
    store.moderate(room, q["id"], state="approved")
    seen.append(revision())
    store.vote(room, q["id"], BOB)
    seen.append(revision())
    store.close(room)
    seen.append(revision())
    assert seen == sorted(set(seen)), seen


def test_closed_and_expired_rooms(db: Database) -> None:
    store = WorkshopStore(db, open_hours=1)
    room, _ = store.create("R", "da")
    assert store.close(room).state() == "closed"
    late, _ = store.create("Late", "da")
    with db.write() as conn:
        conn.execute(
            update(workshops)
            .where(workshops.c.id == late.id)
            .values(expires_at=now() - timedelta(seconds=1))
        )
    current = store.get(late.code)
    assert current is not None and current.state() == "expired"


def test_retention_and_delete_remove_everything(db: Database) -> None:
    store = WorkshopStore(db, retention_days=30)
    old, _ = store.create("Old", "da")
    kept, _ = store.create("Kept", "da")
    gone, _ = store.create("Deleted by the trainer", "da")
    for room in (old, kept, gone):
        q = store.add_question(room, ALICE, "q")
        store.moderate(room, q["id"], state="approved")
        store.vote(room, q["id"], BOB)
    with db.write() as conn:
        conn.execute(
            update(workshops)
            .where(workshops.c.id == old.id)
            .values(delete_after=now() - timedelta(minutes=1))
        )
    assert store.get(old.code) is None  # past retention: gone for readers even before a purge
    assert store.purge() == 1
    store.delete(gone)
    assert store.get(gone.code) is None
    assert store.get(kept.code) is not None
    assert (_count(db, workshops), _count(db, workshop_questions), _count(db, workshop_votes)) == (
        1,
        1,
        1,
    )
    # A new store (a worker starting) purges on its own.
    with db.write() as conn:
        conn.execute(update(workshops).values(delete_after=now() - timedelta(minutes=1)))
    WorkshopStore(db)
    assert _count(db, workshops) == 0 and _count(db, workshop_votes) == 0


def test_db_doctests() -> None:
    import assistant.db
    import assistant.db.engine
    import assistant.db.labels
    import assistant.db.migrate
    import assistant.db.schema
    import assistant.db.workshops

    for module in (
        assistant.db,
        assistant.db.engine,
        assistant.db.labels,
        assistant.db.migrate,
        assistant.db.schema,
        assistant.db.workshops,
    ):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__

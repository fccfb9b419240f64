"""The answer suites on both store backends (issue 24 item 3): the same store, embedded and
copied into PostgreSQL, answers the same suites; fact recall and the decline figures are
printed per suite for both, with the paired 95 % interval of the difference (``evals
compare``, cases matched one to one).

The store a suite's evaluation uses (``artifacts/evals/stores/…``, made by ``python -m evals
run`` or ``benchmarks/fit_answer_model.py``) is read, never written, and copied with
``copy_store`` into a fresh PostgreSQL database (``pgserver``), so both backends hold exactly
the same chunks and vectors. On PostgreSQL the replica's snapshot comes from the database:
dense chunk search is pgvector's HNSW, keyword search the BM25 index rebuilt from the records
(the ranking the README says was chosen), sentence vectors read from the database.

    .venv/bin/python benchmarks/suites_on_postgresql.py [SUITE.yaml ...]

Needs ../shared/corpora/social-dev (the suites name it); exits 2 with a message without it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ingest.settings import PROJECT_ROOT, Settings

SUITES = [
    "evals/suites/social-dev-heldout.yaml",
    "evals/suites/social-dev-fresh.yaml",
    "evals/suites/social-dev-unseen.yaml",
]


def _figures(results: dict) -> str:
    overall = results["summary"]["overall"]

    def num(key: str) -> str:
        value = overall.get(key)
        return "–" if value is None else f"{value:.3f}"

    return (
        f"fact {num('fact_recall')}, decline recall/precision {num('abstention_recall')}/"
        f"{num('abstention_precision')}, words {overall.get('answer_words_mean', 0):.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", default=SUITES)
    args = parser.parse_args()

    from evals.compare import compare_runs
    from evals.fitting import run_suite
    from evals.stores import suite_settings
    from evals.suite import SuiteError, load_suite
    from ingest.store.copy import copy_store
    from ingest.store.embedded import EmbeddedStore
    from ingest.store.postgres import PostgresStore

    try:
        suites = [load_suite(PROJECT_ROOT / path) for path in args.suites]
        stores = {id(s): suite_settings(s) for s in suites}
    except (SuiteError, FileNotFoundError) as exc:
        print(f"cannot run the suites: {exc}", file=sys.stderr)
        return 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    tmp = Path(tempfile.mkdtemp(prefix="kva-suites-pg-"))
    url = pgserver.get_server(tmp / "pg", cleanup_mode="delete").get_uri()
    copied: dict[Path, Settings] = {}
    for suite in suites:
        embedded = stores[id(suite)]
        if embedded.data_dir not in copied:
            source = EmbeddedStore(embedded)
            # One database per store: a suite's corpus is its own store.
            name = f"s{len(copied)}"
            server = create_engine(PostgresStore.url_for(url), isolation_level="AUTOCOMMIT")
            with server.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            server.dispose()
            db_url = make_url(url).set(database=name).render_as_string(hide_password=False)
            target = PostgresStore(db_url, source.get_meta("embedding_model"))
            t = time.perf_counter()
            copy_store(source, target)
            print(
                f"copied {embedded.data_dir} ({len(source.get_chunks())} chunks) into "
                f"PostgreSQL in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            target.close()
            copied[embedded.data_dir] = embedded.model_copy(
                update={"data_dir": tmp / f"replica-{name}", "database_url": db_url}
            )
        on_pg = copied[embedded.data_dir]
        a = run_suite(suite, embedded)
        b = run_suite(suite, on_pg)
        diff = compare_runs(a, b)
        paired = diff["overall"]["fact_recall"]
        print(f"\n{suite.name}")
        print(f"  embedded:   {_figures(a)}")
        print(f"  postgresql: {_figures(b)}")
        print(
            f"  fact recall, postgresql - embedded: paired 95 % {paired.get('ci95')} "
            f"({'within noise' if paired.get('within_noise') else 'beyond noise'}); "
            f"{len(diff['improved'])} cases better, {len(diff['regressed'])} worse",
            flush=True,
        )
        reasons: dict[str, int] = {}
        for case in diff["regressed"]:
            for failure in case["failures_b"]:
                reasons[failure.split(":")[0]] = reasons.get(failure.split(":")[0], 0) + 1
        if reasons:
            print(f"  what the worse cases failed on postgresql: {reasons}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

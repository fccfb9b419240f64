"""The document store on both backends: the seed corpus ingested by ``Indexer`` into the
embedded store and into PostgreSQL (a ``pgserver`` started here, or ``--url``), then, over the
same committed store on each backend:

- ingest: wall time of ``Indexer.run(corpus/)`` on an empty store (after a warm-up run into a
  throwaway store, so model and detector loading are not counted; the embedding itself is);
- write: the same documents put again in one run (``copy_store``; the store's own write and
  commit, no embedding): deletes and inserts of every record, vectors and keyword index;
- store queries, ``--repeat`` times each over a fixed list of Danish and English questions
  (query vectors embedded once, before timing): dense chunk search (k=20), keyword search
  (k=20; embedded: BM25 folders; PostgreSQL: ``tsvector`` + ``ts_rank``), dense sentence
  search (k=20; embedded: exhaustive matrix; PostgreSQL: HNSW), and dense + keyword together;
- ask: ``Assistant.ask`` end to end (retrieve, compose, verify) on each backend.

Prints p50/p95 in milliseconds. On 2 shared cores, figures vary by 10-20 % between runs.

    .venv/bin/python benchmarks/store_backends.py [--repeat 50] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from ingest.settings import PROJECT_ROOT, Settings

QUESTIONS = [
    ("Hvad er kvalitet i bostøtten?", "da"),
    ("Hvilke delinitiativer er der i socialpsykiatrien?", "da"),
    ("What is the quality of housing support?", "en"),
    ("Which sub-initiatives improve quality in social psychiatry?", "en"),
]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms"


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm (connections, caches)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: start pgserver)")
    args = parser.parse_args()

    from assistant.pipeline import Assistant
    from ingest.embeddings import make_embeddings
    from ingest.pipeline import Indexer
    from ingest.store import open_store
    from ingest.store.copy import copy_store
    from ingest.store.embedded import EmbeddedStore

    tmp = Path(tempfile.mkdtemp(prefix="kva-bench-"))
    url = args.url
    if url is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        url = pgserver.get_server(tmp / "pg", cleanup_mode="delete").get_uri()
    backends = {
        "embedded": Settings(data_dir=tmp / "embedded"),
        "postgresql": Settings(data_dir=tmp / "pg-replica", database_url=url),
    }
    emb = make_embeddings(backends["embedded"])
    emb.embed_documents(["opvarmning"])
    vectors = [emb.embed_query(q) for q, _ in QUESTIONS]
    # Warm what the first run of a process pays once (loader child, language detector, answer
    # model), so that neither backend's figures carry it.
    import ingest.store.postgres  # noqa: F401 - its imports (Alembic) take seconds, once

    warm = Settings(data_dir=tmp / "warm")
    Indexer(warm).run([PROJECT_ROOT / "corpus"])
    for question, _ in QUESTIONS:
        Assistant(warm).ask(question)
    try:
        for name, settings in backends.items():
            t = time.perf_counter()
            report = Indexer(settings).run([PROJECT_ROOT / "corpus"])
            took = time.perf_counter() - t
            print(
                f"{name:10s} ingest corpus/: {took:6.2f} s  ({len(report.added)} documents, "
                f"{report.chunks} chunks, {report.embedded} sentences embedded)"
            )
            store = open_store(settings, model_id=emb.model_id)
            t = time.perf_counter()
            copy_store(EmbeddedStore(warm), store)
            took = time.perf_counter() - t
            print(
                f"{name:10s} write: every document replaced in one run (no embedding): "
                f"{took * 1000:6.0f} ms"
            )
            pairs = list(zip(QUESTIONS, vectors, strict=True))

            def dense(store=store, pairs=pairs) -> None:  # noqa: ANN001
                for _, vec in pairs:
                    store.dense(vec, 20)

            def keyword(store=store) -> None:  # noqa: ANN001
                for question, lang in QUESTIONS:
                    store.keyword(question, lang, 20)

            def sentences(store=store, pairs=pairs) -> None:  # noqa: ANN001
                for _, vec in pairs:
                    store.dense_units(vec, 20)

            def both(store=store, pairs=pairs) -> None:  # noqa: ANN001
                for (question, lang), vec in pairs:
                    store.dense(vec, 20)
                    store.keyword(question, lang, 20)

            n = len(QUESTIONS)
            for label, fn in [
                ("dense", dense),
                ("keyword", keyword),
                ("sentences", sentences),
                ("dense+keyword", both),
            ]:
                samples = [s / n for s in _time(fn, args.repeat)]
                print(f"{name:10s} {label:14s} per question {_ms(samples)}")
            assistant = Assistant(settings)
            for question, _ in QUESTIONS:
                assistant.ask(question)
            samples = []
            for _ in range(max(1, args.repeat // 5)):
                for question, _ in QUESTIONS:
                    t = time.perf_counter()
                    assistant.ask(question)
                    samples.append(time.perf_counter() - t)
            print(f"{name:10s} {'ask':14s} per question {_ms(samples)}")
            store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

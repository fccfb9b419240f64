"""Keyword search on both store backends, measured on the evaluation suites (issue 24 item 3):
the embedded store's BM25 (bm25s, PyStemmer Snowball stems, our stopword lists) against
PostgreSQL full-text search (``to_tsvector('danish'|'english')``, ``ts_rank``, stems OR-ed).

The store a suite's evaluation uses (``artifacts/evals/stores/…``, made by ``python -m evals
run``) is read, never written, and copied into a fresh PostgreSQL database (``pgserver``) with
``copy_store``, so both engines search exactly the same chunks. For every answerable case the
question is searched in the Danish and in the English index (top ``--k`` of each, as the
retriever asks both languages), and counted:

- source hit: a chunk of an expected source document is among the hits;
- fact hit: every expected fact group has an alternative in the hits' text (case-folded).

Printed per suite and pooled: the rates of both engines and the paired difference with a
bootstrap 95 % interval (cases resampled), plus the keyword latency per question.

    .venv/bin/python benchmarks/keyword_backends.py [--store DIR] [--k 10] [SUITE.yaml ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ingest.settings import PROJECT_ROOT, Settings

SUITES = [
    "evals/suites/social-dev-tune.yaml",
    "evals/suites/social-dev-heldout.yaml",
    "evals/suites/social-dev-fresh.yaml",
    "evals/suites/social-dev-unseen.yaml",
]
STORE = PROJECT_ROOT / "artifacts/evals/stores/work-shared-corpora-social-dev"


def _interval(diff: np.ndarray, rounds: int = 2000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(rounds)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("suites", nargs="*", default=SUITES)
    parser.add_argument("--store", type=Path, default=STORE, help="an embedded store's data dir")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    if not (args.store / "store" / "records.sqlite").is_file():
        print(
            f"no embedded store at {args.store}: run `python -m evals run` first", file=sys.stderr
        )
        return 2

    from evals.suite import load_suite
    from ingest.store.copy import copy_store
    from ingest.store.embedded import EmbeddedStore
    from ingest.store.postgres import PostgresStore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    source = EmbeddedStore(Settings(data_dir=args.store))
    tmp = Path(tempfile.mkdtemp(prefix="kva-kw-"))
    url = pgserver.get_server(tmp, cleanup_mode="delete").get_uri()
    target = PostgresStore(url, source.get_meta("embedding_model"))
    t = time.perf_counter()
    copy_store(source, target)
    print(
        f"copied {len(source.list_documents())} documents, {len(source.get_chunks())} chunks "
        f"into PostgreSQL in {time.perf_counter() - t:.1f} s"
    )
    chunks = {c.chunk_id: c for c in source.get_chunks()}
    texts = {d.doc_id: source.get_text(d.doc_id) or "" for d in source.list_documents()}
    engines = {"bm25 (embedded)": source, "tsvector (postgresql)": target}
    pooled: dict[str, dict[str, list[int]]] = {}
    latency: dict[str, list[float]] = {name: [] for name in engines}
    for path in args.suites:
        suite = load_suite(PROJECT_ROOT / path)
        cases = [c for c in suite.cases if c.expected_sources and not c.must_abstain]
        scores: dict[str, dict[str, list[int]]] = {n: {"source": [], "fact": []} for n in engines}
        for case in cases:
            for name, store in engines.items():
                t = time.perf_counter()
                hits = store.keyword(case.question, "da", args.k) + store.keyword(
                    case.question, "en", args.k
                )
                latency[name].append(time.perf_counter() - t)
                found = [chunks[h.chunk_id] for h in hits if h.chunk_id in chunks]
                docs = {c.doc_id for c in found}
                body = " ".join(texts[c.doc_id][c.start : c.end] for c in found).casefold()
                scores[name]["source"].append(int(bool(docs & set(case.expected_sources))))
                scores[name]["fact"].append(
                    int(
                        all(
                            any(alt.casefold() in body for alt in group)
                            for group in case.expected_facts
                        )
                    )
                )
        print(f"\n{suite.name}: {len(cases)} answerable cases, top {args.k} per language")
        _report(scores)
        for name in engines:
            for metric, values in scores[name].items():
                pooled.setdefault(name, {}).setdefault(metric, []).extend(values)
    print("\npooled:")
    _report(pooled)
    for name, samples in latency.items():
        ordered = sorted(samples)
        p95 = ordered[round(0.95 * (len(ordered) - 1))]
        print(
            f"{name:22s} keyword latency per question (2 languages): "
            f"p50 {statistics.median(ordered) * 1000:.2f} ms  p95 {p95 * 1000:.2f} ms"
        )
    target.close()
    return 0


def _report(scores: dict[str, dict[str, list[int]]]) -> None:
    (a_name, a), (b_name, b) = scores.items()
    for metric in ("source", "fact"):
        x, y = np.asarray(a[metric]), np.asarray(b[metric])
        low, high = _interval(y - x)
        print(
            f"  {metric} hit: {a_name} {x.mean():.3f}  {b_name} {y.mean():.3f}  "
            f"difference {y.mean() - x.mean():+.3f} [{low:+.3f}, {high:+.3f}]"
        )


if __name__ == "__main__":
    sys.exit(main())

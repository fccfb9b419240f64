"""Command line: ``python -m ingest [PATH ...] [--rebuild] [--data-dir DIR]``,
``python -m ingest stats [--json]``, ``python -m ingest check [--repair] [--json]`` and
``python -m ingest migrate --to postgresql://…`` (copy the embedded store into PostgreSQL).

Exit codes: 0 all files ingested, 1 some files failed (the rest is committed), 2 the run
could not start or the store is broken beyond repair (bad settings, model mismatch, corrupt
database, disk full, unwritable data dir), 130 interrupted. ``check``: 0 the store is whole
(or was repaired), 1 problems found (run with ``--repair``), 2 it cannot be repaired.
"""

from __future__ import annotations

import argparse
import errno
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.settings import Settings


def _settings(data_dir: str | None) -> Settings:
    from ingest.settings import Settings

    return Settings(data_dir=Path(data_dir)) if data_dir else Settings()


def _failure_line(exc: BaseException, settings: Settings) -> str | None:
    """One line for the failures that are the environment's, not a file's; None otherwise."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"the disk is full ({exc.strerror}); nothing new was committed"
    if any(m in text for m in ("disk is full", "No space left", "File too large", "disk I/O")):
        return (
            f"the disk is full or failing ({text.splitlines()[0][:200]}); nothing new was committed"
        )
    if isinstance(exc, OSError):
        where = exc.filename or settings.data_dir
        return f"cannot write to the data dir: {where}: {exc.strerror or exc}"
    if isinstance(exc, sqlite3.DatabaseError):
        return (
            f"the record database {settings.records_path} is corrupt or unreadable ({text}); "
            "run `python -m ingest check`"
        )
    try:
        from chromadb.errors import ChromaError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, ChromaError):
        first = text.splitlines()[0] if text else type(exc).__name__
        from ingest.check import LOW_DISK_MB, free_mb

        free = free_mb(settings.data_dir)
        if free is not None and free < LOW_DISK_MB:
            # Chroma reports a full disk as whatever write failed ("Error in compaction").
            return (
                f"the disk is full ({free:.1f} MB free under {settings.data_dir}; the vector "
                f"store failed: {first[:120]}); nothing new was committed"
            )
        return f"the vector store failed ({first[:200]}); run `python -m ingest check`"
    return None


def _progress_bar():  # noqa: ANN202 - returns a Progress callable
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}
    labels = {"load": "reading", "embed": "embedding"}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit="item")
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return progress


def _ingest(args: argparse.Namespace) -> int:
    from ingest.check import StoreCorrupt
    from ingest.embeddings import EmbeddingModelError
    from ingest.pipeline import Indexer
    from ingest.store import describe

    settings = _settings(args.data_dir)
    paths = [Path(p) for p in args.paths] or [settings.corpus_dir]
    indexer = Indexer(settings, progress=_progress_bar())
    indexer.on_wait = lambda line: print(line, file=sys.stderr, flush=True)
    try:
        report = indexer.run(paths, rebuild=args.rebuild)
    except (EmbeddingModelError, StoreCorrupt) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if indexer.committed is not None:
            print(
                f"interrupted after the commit: the new state (generation {indexer.committed}) "
                "is in place; the next run finishes the clean-up",
                file=sys.stderr,
            )
        else:
            print(
                "interrupted: nothing was committed; the previous state is intact",
                file=sys.stderr,
            )
        return 130
    except Exception as exc:
        line = _failure_line(exc, settings)
        if line is None:
            raise
        state = (
            f"generation {indexer.committed} was committed"
            if indexer.committed is not None
            else "the previous state is intact"
        )
        print(f"error: {line}; {state}", file=sys.stderr)
        return 2
    for line in report.repaired:
        print(f"repaired: {line}", file=sys.stderr)
    for path, why in report.failed:
        print(f"failed: {path}: {why}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.model_dump(), ensure_ascii=False))
    else:
        print(
            f"added {len(report.added)}, updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}, removed {len(report.removed)}, "
            f"failed {len(report.failed)}; {report.chunks} chunks "
            f"({report.embedded} embedded) in {report.seconds:.1f} s -> {describe(settings)}"
        )
    return 0 if report.ok else 1


def _check(args: argparse.Namespace) -> int:
    from ingest.check import StoreCorrupt, check_store, repair_store
    from ingest.pipeline import Indexer

    settings = _settings(args.data_dir)
    from ingest.store import store_kind

    if store_kind(settings) != "embedded":
        return _check_server(settings, args)
    report = check_store(settings)
    if args.repair and not report.ok:
        try:
            with Indexer(settings).locked():
                report = repair_store(settings)
        except StoreCorrupt as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps({**report.model_dump(), "ok": report.ok}, ensure_ascii=False))
    else:
        for line in report.repaired:
            print(f"repaired: {line}")
        for problem in report.problems:
            print(f"problem: {problem.index}: {problem.message}")
        print(report.summary() if report.ok else "store NOT ok; run with --repair")
    return 0 if report.ok else 1


def _check_server(settings: Settings, args: argparse.Namespace) -> int:
    """A database store is its own single commit point: there are no index files beside it
    to lose or garble, only rows to count."""
    from ingest.store import describe, open_store

    store = open_store(settings)
    problems = store.problems()  # type: ignore[attr-defined]
    generation = store.generation()
    store.close()
    if args.json:
        print(json.dumps({"ok": not problems, "generation": generation, "problems": problems}))
    else:
        for line in problems:
            print(f"problem: {line}")
        print(
            f"{describe(settings)}: generation {generation}, "
            + ("ok" if not problems else "NOT ok; re-ingest with `python -m ingest --rebuild`")
        )
    return 0 if not problems else 1


def _stats(args: argparse.Namespace) -> int:
    from ingest.stats import store_stats

    stats = store_stats(_settings(args.data_dir))
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from ingest.store import StoreError
    from ingest.store.copy import migrate_embedded

    try:
        line = migrate_embedded(
            _settings(args.data_dir),
            args.to,
            on_wait=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (StoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"error: cannot reach the database: {exc.orig or exc}", file=sys.stderr)
        return 2
    print(line)
    return 0


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="store location (default: KVA_DATA_DIR or .data)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        parser = argparse.ArgumentParser(
            prog="python -m ingest check",
            description="Verify that every committed chunk is in every index; --repair "
            "rebuilds what is missing from the stored text.",
        )
        parser.add_argument("--repair", action="store_true", help="rebuild what is missing")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        _data_dir_option(parser)
        return _check(parser.parse_args(argv[1:]))
    if argv[:1] == ["migrate"]:
        parser = argparse.ArgumentParser(
            prog="python -m ingest migrate",
            description="Copy the embedded store (records and vectors, nothing re-embedded) "
            "into a PostgreSQL database in one transaction; the database ends equal to it. "
            "Into an empty database the chunk index is built once, after the rows; replicas "
            "already reading that database wait until the copy commits.",
        )
        parser.add_argument("--to", required=True, help="postgresql://user@host/database")
        _data_dir_option(parser)
        return _migrate(parser.parse_args(argv[1:]))
    if argv[:1] == ["stats"]:
        parser = argparse.ArgumentParser(prog="python -m ingest stats")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        _data_dir_option(parser)
        return _stats(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Ingest files into the store (default: the corpus folder). "
        "Use 'python -m ingest stats' to see what the store holds.",
    )
    parser.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    parser.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    _data_dir_option(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return _ingest(parser.parse_args(argv))


def entry() -> int:
    try:
        return main()
    except KeyboardInterrupt:
        # Ctrl-C while Python is still importing: nothing has been touched yet.
        print("interrupted before the run started: nothing was changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(entry())

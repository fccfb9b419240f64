"""Stores for evaluation runs: a suite written over its own corpus is answered from a store of
that corpus, kept under ``artifacts/evals/stores/`` and brought up to date before each run
(ingestion is incremental, so an unchanged corpus costs no embedding).

Example:
    >>> from pathlib import Path
    >>> scratch_dir(Path("/data/corpora/social-dev")).as_posix()
    'artifacts/evals/stores/data-corpora-social-dev'
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.manifest import slugify
from ingest.settings import Settings

if TYPE_CHECKING:
    from evals.suite import Suite

STORES = Path("artifacts/evals/stores")


def scratch_dir(corpus: Path) -> Path:
    return STORES / slugify(str(corpus))


def corpus_settings(corpus: Path, data_dir: Path | None = None) -> Settings:
    """Settings for a store of ``corpus`` (in ``data_dir``, else its scratch folder)."""
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist")
    return Settings(data_dir=data_dir or scratch_dir(corpus), corpus_dir=corpus)


def suite_settings(suite: Suite) -> Settings:
    """A store of the suite's corpus (the bundled corpus for a suite that names none), brought
    up to date."""
    if suite.corpus_dir is not None:
        settings = corpus_settings(suite.corpus_dir)
    else:
        settings = Settings(data_dir=STORES / "seed")
    bring_up_to_date(settings)
    return settings


def bring_up_to_date(settings: Settings) -> None:
    """Ingest ``settings.corpus_dir`` into the store and say what happened on stderr."""
    from ingest.pipeline import Indexer

    report = Indexer(settings).run([settings.corpus_dir])
    failed = [f"{path}: {why}" for path, why in report.failed]
    documents = len(report.added + report.updated + report.unchanged)
    print(
        f"store {settings.data_dir} is in step with {settings.corpus_dir}: "
        f"{documents} documents ({len(report.added)} added, {len(report.updated)} updated)"
        + (f"; {len(failed)} file(s) failed: " + "; ".join(failed) if failed else ""),
        file=sys.stderr,
    )

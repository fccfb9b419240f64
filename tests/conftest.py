"""Shared fixtures: a real store ingested from corpus/ (session-scoped: the model loads once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.pipeline import Indexer
from ingest.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a store holding the bundled corpus; treat it as read-only."""
    data = tmp_path_factory.mktemp("corpus-store")
    settings = Settings(data_dir=data, corpus_dir=PROJECT_ROOT / "corpus")
    report = Indexer(settings).run([settings.corpus_dir])
    assert report.ok and len(report.added) == 3, report
    return settings


@pytest.fixture(scope="session")
def assistant(corpus_settings: Settings):  # noqa: ANN201
    from assistant.pipeline import Assistant

    return Assistant(corpus_settings)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", target)
    return target

"""Data flows one way: files -> ingest -> store -> assistant -> API -> UI. Nothing upstream of
the UI may import it: what the API needs (the handout, the question bank) lives in
``assistant``, and the UI gets data over HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ("assistant", "ingest")


def ui_imports(path: Path) -> list[str]:
    """Each import of ``ui`` (or a module in it) in the file, as ``line: statement``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "ui" or name.startswith("ui.") for name in names):
            found.append((node.lineno, ast.unparse(node)))
    return [f"{line}: {statement}" for line, statement in sorted(found)]


@pytest.mark.parametrize("package", UPSTREAM)
def test_nothing_upstream_imports_the_ui(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    offenders = {
        str(path.relative_to(ROOT)): found for path in files if (found := ui_imports(path))
    }
    assert not offenders, f"{package}/ imports the UI: {offenders}"


def test_the_check_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import uikit\nfrom ui_tools import x\nfrom . import ui\n"
        "def f():\n    from ui.export import build_handout\n"
        "import ui\nimport os, ui.render as r\nfrom ui import common\n",
        encoding="utf-8",
    )
    assert [line.split(":")[0] for line in ui_imports(sample)] == ["5", "6", "7", "8"]

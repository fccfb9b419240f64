"""Finding the files to ingest under the paths a user names.

Directory symlinks are followed once: a loop (a link to an ancestor) is reported, not walked
forever. A symlink inside a folder that leads out of the folder named is reported and not
followed (a corpus must not pull in files from elsewhere), and one file reached by two paths
is ingested once. Hidden files and the manifest are skipped; in a folder, files of
unsupported types are skipped silently, while an unsupported file named explicitly is an
error.

Example:
    >>> import tempfile, pathlib
    >>> from ingest.discovery import discover
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "a.txt").write_text("hej")
    3
    >>> [p.name for p in discover([root]).files]
    ['a.txt']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.manifest import MANIFEST_NAMES


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)


def discover(paths: list[Path]) -> Discovery:
    found = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if not path.exists():
            found.problems.append((path, "no such file or directory"))
            continue
        found.roots.append(path)
        if path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                found.problems.append((path, f"unsupported file type {path.suffix or '(none)'}"))
            elif path not in seen:
                seen.add(path)
                found.files.append(path)
            continue
        _walk(path, found, seen, visited_dirs=set(), root=path.resolve())
    return found


def _walk(
    folder: Path, found: Discovery, seen: set[Path], visited_dirs: set[Path], root: Path
) -> None:
    real = folder.resolve()
    if real in visited_dirs:
        found.problems.append((folder, "directory symlink loop, skipped"))
        return
    visited_dirs = visited_dirs | {real}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.problems.append((folder, f"cannot list folder ({exc.strerror or exc})"))
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name in MANIFEST_NAMES:
            continue
        path = folder / entry.name
        try:
            if entry.is_symlink():
                target = path.resolve()
                if target != root and root not in target.parents:
                    found.problems.append(
                        (path, f"symbolic link to {target}, outside {root}: not followed")
                    )
                    continue
            if entry.is_dir():
                _walk(path, found, seen, visited_dirs, root)
            elif entry.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                real = path.resolve()
                if path not in seen and real not in seen:
                    seen.update((path, real))
                    found.files.append(path)
        except OSError as exc:
            found.problems.append((path, f"cannot read ({exc.strerror or exc})"))

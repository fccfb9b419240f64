"""A small SQLite file with one schema, opened per call: the base of the API's own stores
(feedback, ingestion jobs). WAL mode so several workers can read while one writes.

Example:
    >>> import tempfile, pathlib
    >>> from assistant.api.sqlite_file import SQLiteFile
    >>> f = SQLiteFile(pathlib.Path(tempfile.mkdtemp()) / "x.sqlite", "CREATE TABLE t (a INT)")
    >>> f.path.exists()
    True
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


class SQLiteFile:
    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(schema)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

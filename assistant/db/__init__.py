"""The API's own shared state (workshops, evaluator labels) in one database.

SQLAlchemy Core over SQLite (default: ``app.sqlite`` under the data dir, WAL, so several
uvicorn workers share it) or PostgreSQL (``KVA_DATABASE_URL=postgresql://…``, via psycopg 3).
The schema is Alembic's: every start upgrades an existing database to the newest revision.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> db = Database(f"sqlite:///{tempfile.mkdtemp()}/app.sqlite")
    >>> db.dialect
    'sqlite'
"""

from assistant.db.engine import Database, database_url

__all__ = ["Database", "database_url"]

"""SQLite storage through sqlite-utils: schema, migrations and repositories.

The only package that writes SQL. Every function takes the ``Database`` it works on.
"""

from storage.db import PerThread, db_file, open_db

__all__ = ["PerThread", "db_file", "open_db"]

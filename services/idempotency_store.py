"""`keys_store()`: where the `Idempotency-Key` middleware keeps its keys, picked by the settings of the moment.

PostgreSQL's table when DATABASE_URL is set (services/idempotency_pg.py: every node shares them, so
a retry may reach any node), else DATA_DIR's SQLite file (services/idempotency_file.py); both keep
services/idempotency_contract.py. Read on each request, as `get_store()` is.
"""

from __future__ import annotations

from services.idempotency_contract import Keys
from services.idempotency_file import FILE_NAME, FileKeys
from steprunner.settings import data_dir_from_env, database_url_from_env


def keys_store() -> Keys:
    """PostgreSQL's table when DATABASE_URL is set, else DATA_DIR's file."""
    url = database_url_from_env()
    if url is not None:
        from services.idempotency_pg import PgKeys  # psycopg is imported only by those who use it

        return PgKeys(url)
    return FileKeys(data_dir_from_env() / FILE_NAME)

"""`get_store()`: the pet store the steps use, picked by the settings of the moment.

PostgreSQL when DATABASE_URL is set (services/pet_store_pg.py), else the pets.json of the current
DATA_DIR (services/pet_store_file.py); both keep services/store_contract.py. Read on every call, as
the steps run it per request, so a test or tool that changes the settings gets the store they name.
"""

from __future__ import annotations

from services.pet_store_file import file_store
from services.store_contract import Store
from steprunner.settings import database_url_from_env


def get_store() -> Store:
    """PostgreSQL's store when DATABASE_URL is set, else DATA_DIR's file, opened on first use and then
    shared. StoreError when the file can't be read (nothing is cached then: a repaired file is picked up)."""
    url = database_url_from_env()
    if url is not None:
        from services.pet_store_pg import pg_store  # psycopg is imported only by those who use it

        return pg_store(url)
    return file_store()

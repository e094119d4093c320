"""Which data folder runs on which PostgreSQL database, for tests that run the service in database mode.

A folder bound here (`bind`) gets its database's DATABASE_URL in every process started on it
(tests/support/server.py `base_env`: servers and `run_cli` commands alike), and the tests' own view
of the store (tests/pets/pets_api.py `store_of`) opens that database. So a server restarted on the
same folder finds its pets, as it would in pets.json, and a test written against a folder needs no
change to run in database mode.
"""

from __future__ import annotations

from pathlib import Path

_urls: dict[Path, str] = {}


def bind(data_dir: Path, url: str) -> None:
    _urls[Path(data_dir).resolve()] = url


def bound_url(data_dir: Path) -> str | None:
    """The database URL of this folder, or None: the folder keeps its data in files (the embedded default)."""
    return _urls.get(Path(data_dir).resolve())

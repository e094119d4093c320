"""Which data folder runs on which PostgreSQL database, for tests that run a project in database mode.

A folder bound here (`bind`) gets its database's DATABASE_URL in every process started on it (`base_env`:
servers and `run_cli` commands alike), so a server restarted on the same folder finds its data, and a test
written against a folder needs no change to run in database mode.
"""

from __future__ import annotations

from pathlib import Path

_urls: dict[Path, str] = {}


def bind(data_dir: Path, url: str) -> None:
    _urls[Path(data_dir).resolve()] = url


def bound_url(data_dir: Path) -> str | None:
    """The database URL of this folder, or None: the folder keeps its data in files (the embedded default)."""
    return _urls.get(Path(data_dir).resolve())

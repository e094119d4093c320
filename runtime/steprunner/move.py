"""`steprunner db import`: a DATA_DIR's runtime data onto DATABASE_URL's PostgreSQL, in one transaction.

The runtime owns its tables, so it moves them itself: the journal's deliveries still to run, its
dead letters and `context.state` (journal/move.py), and the stream items (streams/move.py), from
`DATA_DIR/steprunner.db` into the tables `db migrate` makes. A project's own data can come along
in the same transaction (`ProjectData`: the pet service moves its pets so). A database that
already holds any of it is refused unless `replace` empties it first; the DATA_DIR is only read,
a copy to go back to. Stop the servers first: events moved and left behind would run twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import psycopg

from steprunner.db.migrate import migrate
from steprunner.db.pool import APPLICATION_NAME, describe
from steprunner.journal import move as journal_move
from steprunner.journal.contract import JournalError
from steprunner.settings import JOURNAL_FILE_NAME
from steprunner.streams import move as streams_move


class MoveError(Exception):
    """Why nothing was moved (the database is left as it was)."""


class ProjectData(Protocol):
    """A project's own data, moved in the runtime's transaction (read before it begins)."""

    @property
    def tables(self) -> Sequence[str]:
        """Its tables, locked with the runtime's while moving."""
        ...

    def held(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        """What the database holds already, by what it is: {"pets": 3}."""
        ...

    def clear(self, conn: psycopg.Connection[Any]) -> None:
        """Empty its tables (`replace`)."""
        ...

    def write(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        """Insert the data; returns how much of each, as `held` names them."""
        ...


def import_data_dir(
    data_dir: Path, url: str, *, root: Path, replace: bool = False, project: ProjectData | None = None
) -> dict[str, int]:
    """Copy DATA_DIR's runtime data (and `project`'s) into the database at `url`, migrating it first
    (the runtime's migrations and `root`'s). Returns how much of each was moved: the project's
    first, then events, state values, stream items. MoveError, nothing written, if the database
    already holds any of it and `replace` is not set; JournalError if the file is not a journal."""
    journal, items = _read(data_dir / JOURNAL_FILE_NAME)
    migrate(url, root)
    try:
        with psycopg.connect(url, application_name=APPLICATION_NAME) as conn, conn.transaction():
            return _move(conn, journal, items, replace, project)
    except psycopg.Error as exc:
        raise MoveError(f"database {describe(url)}: {type(exc).__name__}: {str(exc).strip()}") from None


def _move(
    conn: psycopg.Connection[Any],
    journal: journal_move.JournalData,
    items: list[streams_move.CarriedItem],
    replace: bool,
    project: ProjectData | None,
) -> dict[str, int]:
    tables = [*(project.tables if project else ()), *journal_move.TABLES, *streams_move.TABLES]
    conn.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE".encode())  # no node writes meanwhile
    held = {**(project.held(conn) if project else {}), **journal_move.held(conn), **streams_move.held(conn)}
    if any(held.values()) and not replace:
        raise MoveError(
            f"the database already holds {_counted(held)}; `--replace` empties it first (everything in it is lost)"
        )
    if replace:
        if project is not None:
            project.clear(conn)
        journal_move.clear(conn)
        streams_move.clear(conn)
    moved = dict(project.write(conn)) if project else {}
    moved.update(journal_move.write(conn, journal))
    moved.update(streams_move.write(conn, items))
    return moved


def _read(path: Path) -> tuple[journal_move.JournalData, list[streams_move.CarriedItem]]:
    """The journal's and the streams' data in the file, read-only; none if there is no file."""
    if not path.exists():
        return journal_move.JournalData([], []), []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return journal_move.read_journal(conn), streams_move.read_items(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a steprunner journal that can be read ({exc}): nothing was moved") from None


def _counted(held: dict[str, int]) -> str:
    """`3 pets and 2 events`: the non-zero counts, in order."""
    parts = [f"{n} {what}" for what, n in held.items() if n]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def moved_summary(moved: dict[str, int]) -> str:
    """`3 pets, 1 events, 0 state values and 5 stream items`: every count, in order."""
    parts = [f"{n} {what}" for what, n in moved.items()]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"

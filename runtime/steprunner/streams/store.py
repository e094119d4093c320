"""Where Motia Streams' items and their change log live, and how a process learns of changes.

One contract (`StreamStore`) and its SQLite implementation; PostgreSQL's is store_pg.py. Both
number changes in commit order, which is what lets a join miss nothing: runtime/docs/streams.md.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from steprunner.journal.sqlite import Journal

SQLITE_POLL_SECONDS = 0.1  # how often a process with subscribers looks for other processes' changes
KEEP_SECONDS = 60.0  # how long a change stays in the log for lagging processes

TABLES = (
    "CREATE TABLE IF NOT EXISTS stream_items (stream TEXT NOT NULL, group_id TEXT NOT NULL, id TEXT NOT NULL,"
    " item TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (stream, group_id, id))",
    "CREATE TABLE IF NOT EXISTS stream_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,"
    " group_id TEXT NOT NULL, item_id TEXT, kind TEXT NOT NULL, payload TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS stream_changes_at ON stream_changes (at)",
)


@dataclass(frozen=True)
class Change:
    """One change of the log: an item written or deleted, or an event sent."""

    seq: int
    stream: str
    group_id: str
    item_id: str | None
    kind: str  # create | update | delete | event
    payload: Any  # the item, or the sent event {type, data}


class StreamStore(Protocol):
    where: str  # for messages: the file, or the database without its password
    poll_seconds: float  # how often the change log is read while there are subscribers and no wake-up came

    async def start(self) -> None:
        """Be ready to read and write (SQLite: make the tables; PostgreSQL: `db migrate` made them)."""
        ...

    async def get(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None: ...
    async def set(self, stream: str, group_id: str, item_id: str, item: dict[str, Any]) -> None:
        """Store `item` (already carrying `id` and `_createdAt`) and log a create or an update, in one transaction."""
        ...

    async def delete(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        """Remove the item and log its delete; a missing item logs nothing and returns None."""
        ...

    async def group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        """The group's items, oldest `_createdAt` first."""
        ...

    async def send(self, stream: str, group_id: str, item_id: str | None, event: dict[str, Any]) -> None:
        """Log an event for the clients of a group (or one item); nothing is stored."""
        ...

    async def snapshot(
        self, stream: str, group_id: str, item_id: str | None, limit: int | None = None
    ) -> tuple[Any, int]:
        """A join's sync data (the group's items, the newest `limit` of them if given, oldest first; or one
        item or None) and the `seq` it is current to, in one snapshot."""
        ...

    async def high_water(self) -> int:
        """The last `seq` given out (pruning never lowers it)."""
        ...

    async def changes_after(self, seq: int, limit: int = 1000) -> list[Change]: ...
    async def prune(self, keep_seconds: float) -> int:
        """Forget changes older than `keep_seconds`."""
        ...

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` (on the caller's loop) when another process logged a change (if the store can tell)."""
        ...

    async def close(self) -> None: ...


# --- SQLite: plain functions on a connection (the journal's writer thread, or the reader) ----------


def create_tables(conn: sqlite3.Connection) -> None:
    for statement in TABLES:
        conn.execute(statement)


def _record(conn: sqlite3.Connection, stream: str, group_id: str, item_id: str | None, kind: str, payload: Any) -> None:
    conn.execute(
        "INSERT INTO stream_changes (stream, group_id, item_id, kind, payload, at) VALUES (?, ?, ?, ?, ?, ?)",
        (stream, group_id, item_id, kind, json.dumps(payload), time.time()),
    )


def item_get(conn: sqlite3.Connection, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT item FROM stream_items WHERE stream=? AND group_id=? AND id=?", (stream, group_id, item_id)
    ).fetchone()
    return json.loads(row[0]) if row else None


def item_set(conn: sqlite3.Connection, stream: str, group_id: str, item_id: str, item: dict[str, Any]) -> None:
    existed = conn.execute(
        "SELECT 1 FROM stream_items WHERE stream=? AND group_id=? AND id=?", (stream, group_id, item_id)
    ).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO stream_items (stream, group_id, id, item, created_at) VALUES (?, ?, ?, ?, ?)",
        (stream, group_id, item_id, json.dumps(item), created_at(item)),
    )
    _record(conn, stream, group_id, item_id, "update" if existed else "create", item)


def item_delete(conn: sqlite3.Connection, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
    item = item_get(conn, stream, group_id, item_id)
    if item is not None:
        conn.execute("DELETE FROM stream_items WHERE stream=? AND group_id=? AND id=?", (stream, group_id, item_id))
        _record(conn, stream, group_id, item_id, "delete", item)
    return item


def group_items(conn: sqlite3.Connection, stream: str, group_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The group's items oldest first; with `limit`, only the newest `limit` of them."""
    rows = conn.execute(
        "SELECT item FROM (SELECT item, created_at, rowid AS r FROM stream_items WHERE stream=? AND group_id=?"
        " ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, r",
        (stream, group_id, -1 if limit is None else limit),
    )
    return [json.loads(r[0]) for r in rows]


def high_water(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='stream_changes'").fetchone()
    return int(row[0]) if row else 0


def changes_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[Change]:
    rows = conn.execute(
        "SELECT seq, stream, group_id, item_id, kind, payload FROM stream_changes WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit),
    ).fetchall()
    return [Change(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def snapshot(
    conn: sqlite3.Connection, stream: str, group_id: str, item_id: str | None, limit: int | None = None
) -> tuple[Any, int]:
    conn.execute("BEGIN")
    try:
        data: Any = (
            item_get(conn, stream, group_id, item_id)
            if item_id is not None
            else group_items(conn, stream, group_id, limit)
        )
        return data, high_water(conn)
    finally:
        conn.execute("COMMIT")


def created_at(item: dict[str, Any]) -> float:
    """The item's `_createdAt` as a sort key (a client may send anything there)."""
    value = item.get("_createdAt")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class SqliteStreamStore:
    """Writes go through the journal's thread (one transaction with the change row); reads, off the
    event loop, on a connection of this process's own (WAL: they never wait for writers)."""

    poll_seconds = SQLITE_POLL_SECONDS

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.where = str(journal.path)
        self._reader: sqlite3.Connection | None = None

    async def start(self) -> None:
        await self.journal.call(create_tables)
        self._reader = sqlite3.connect(self.journal.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._reader.execute("PRAGMA busy_timeout=30000")

    async def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        reader = self._reader
        assert reader is not None, "start() first"
        return await asyncio.to_thread(fn, reader)

    async def get(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        return await self.journal.call(lambda c: item_get(c, stream, group_id, item_id))

    async def set(self, stream: str, group_id: str, item_id: str, item: dict[str, Any]) -> None:
        await self.journal.call(lambda c: item_set(c, stream, group_id, item_id, item))

    async def delete(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        return await self.journal.call(lambda c: item_delete(c, stream, group_id, item_id))

    async def group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        return await self.journal.call(lambda c: group_items(c, stream, group_id))

    async def send(self, stream: str, group_id: str, item_id: str | None, event: dict[str, Any]) -> None:
        await self.journal.call(lambda c: _record(c, stream, group_id, item_id, "event", event))

    async def snapshot(
        self, stream: str, group_id: str, item_id: str | None, limit: int | None = None
    ) -> tuple[Any, int]:
        result: tuple[Any, int] = await self._read(lambda c: snapshot(c, stream, group_id, item_id, limit))
        return result

    async def high_water(self) -> int:
        return int(await self._read(high_water))

    async def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        found: list[Change] = await self._read(lambda c: changes_after(c, seq, limit))
        return found

    async def prune(self, keep_seconds: float) -> int:
        before = time.time() - keep_seconds
        return await self.journal.call(
            lambda c: c.execute("DELETE FROM stream_changes WHERE at < ?", (before,)).rowcount
        )

    def listen(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: another process's change is found by the poll."""

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

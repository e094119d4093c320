"""The durable event journal: SQLite in `DATA_DIR/steprunner.db`, shared by every process.

One row per (event, subscriber) delivery. A row is written before `emit` returns, claimed with
a lease by the process that runs it, deleted when its handler succeeds, put back with a later
`available_at` when it fails, and marked `dead` after its last try. A claim whose owner died
(its lease ran out, or its pid is gone on this host) is taken over by the next sweep.

All access from the async runtime goes through one writer thread that commits whatever has
queued up in one transaction (group commit), so many concurrent emits share one fsync.
`Journal` keeps the runtime's journal contract (runtime/steprunner/journal/contract.py); with
DATABASE_URL set, runtime/steprunner/journal/postgres.py keeps it on PostgreSQL instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from steprunner.journal.contract import (
    Delivery,
    JournalError,
    NewDelivery,
    Recovered,
    Transaction,
    new_owner_id,
    owner_is_dead,
)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'claimed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    available_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, available_at);
CREATE TABLE IF NOT EXISTS state (
    group_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
);
CREATE TABLE IF NOT EXISTS cron_ticks (
    step TEXT NOT NULL,
    tick INTEGER NOT NULL,
    owner TEXT NOT NULL,
    fired_at REAL NOT NULL,
    PRIMARY KEY (step, tick)
);
"""


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        row["id"],
        row["topic"],
        row["step"],
        json.loads(row["data"]),
        row["trace_id"],
        row["attempts"],
        row["max_attempts"],
    )


def _prepare_folder(folder: Path) -> None:
    """Create DATA_DIR if needed; JournalError if it is a file or cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise JournalError(
            f"DATA_DIR {folder} is a file (or under one), not a folder: set DATA_DIR to a folder"
        ) from None
    except OSError as exc:
        raise JournalError(
            f"DATA_DIR {folder} cannot be created ({exc.strerror or exc}): set DATA_DIR to a writable folder"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise JournalError(
            f"DATA_DIR {folder} is not writable: set DATA_DIR to a writable folder, or fix its permissions"
        )


def connect(path: Path, sync: str = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) the journal; JournalError, with a one-line message, if it cannot be used."""
    _prepare_folder(path.parent)
    conn = None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'NORMAL' if sync == 'NORMAL' else 'FULL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.executescript(SCHEMA)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise JournalError(
                f"{path} is not a steprunner journal ({exc}): move it away (a new one is created) "
                "or set DATA_DIR to another folder"
            ) from None
        raise JournalError(f"{path} cannot be opened ({exc}): check DATA_DIR and its permissions") from None
    return conn


# --- operations: plain functions on a connection, used by the runtime and the CLI alike ---------


def insert_deliveries(
    conn: sqlite3.Connection,
    rows: list[tuple[str, str, Any, str, int, float]],
    owner: str | None,
    lease_until: float | None,
) -> list[int]:
    """rows: (topic, step, data, trace_id, max_attempts, available_at). With an owner, insert already claimed."""
    now = time.time()
    ids = []
    for topic, step, data, trace_id, max_attempts, available_at in rows:
        claimed = owner is not None and available_at <= now
        cur = conn.execute(
            "INSERT INTO deliveries (topic, step, data, trace_id, status, attempts, max_attempts, available_at,"
            " lease_owner, lease_until, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                topic,
                step,
                json.dumps(data),
                trace_id,
                "claimed" if claimed else "pending",
                1 if claimed else 0,
                max_attempts,
                available_at,
                owner if claimed else None,
                lease_until if claimed else None,
                now,
                now,
            ),
        )
        assert cur.lastrowid is not None  # an INSERT into a rowid table always has one
        ids.append(cur.lastrowid)
    return ids


def reclaim_abandoned(conn: sqlite3.Connection, me: str) -> int:
    """Put back claims whose lease ran out or whose owner process is gone."""
    now = time.time()
    n = conn.execute(
        "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, updated_at=?"
        " WHERE status='claimed' AND lease_until < ?",
        (now, now),
    ).rowcount
    owners = [r[0] for r in conn.execute("SELECT DISTINCT lease_owner FROM deliveries WHERE status='claimed'")]
    for owner in owners:
        if owner and owner_is_dead(owner, me):
            n += conn.execute(
                "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, updated_at=?"
                " WHERE status='claimed' AND lease_owner=?",
                (now, owner),
            ).rowcount
    return n


def recover(conn: sqlite3.Connection, me: str) -> Recovered:
    """Put back the claims of this node's processes that died (`owner_is_dead`), naming them and what they held."""
    owners = [r[0] for r in conn.execute("SELECT DISTINCT lease_owner FROM deliveries WHERE status='claimed'")]
    dead = tuple(o for o in owners if o and owner_is_dead(o, me))
    released: list[int] = []
    for owner in dead:
        released += [
            r[0]
            for r in conn.execute(
                "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, updated_at=?"
                " WHERE status='claimed' AND lease_owner=? RETURNING id",
                (time.time(), owner),
            )
        ]
    return Recovered(dead, tuple(released))


def in_flight(conn: sqlite3.Connection) -> list[tuple[int, Any]]:
    rows = conn.execute("SELECT id, data FROM deliveries WHERE status IN ('pending', 'claimed')").fetchall()
    return [(r[0], json.loads(r[1])) for r in rows]


def claim_due(conn: sqlite3.Connection, owner: str, limit: int, lease_until: float, steps: list[str]) -> list[Delivery]:
    """Atomically claim up to `limit` due deliveries for the steps this process runs."""
    if limit <= 0 or not steps:
        return []
    now = time.time()
    marks = ",".join("?" * len(steps))
    rows = conn.execute(
        f"UPDATE deliveries SET status='claimed', lease_owner=?, lease_until=?, attempts=attempts+1, updated_at=?"
        f" WHERE id IN (SELECT id FROM deliveries WHERE status='pending' AND available_at <= ?"
        f" AND step IN ({marks}) ORDER BY id LIMIT ?)"
        f" RETURNING *",
        (owner, lease_until, now, now, *steps, limit),
    ).fetchall()
    return sorted((_delivery(r) for r in rows), key=lambda d: d.id)


def ack(conn: sqlite3.Connection, delivery_id: int) -> None:
    conn.execute("DELETE FROM deliveries WHERE id=?", (delivery_id,))


def retry_later(conn: sqlite3.Connection, delivery_id: int, available_at: float, error: str) -> None:
    conn.execute(
        "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, available_at=?, last_error=?,"
        " updated_at=? WHERE id=?",
        (available_at, error, time.time(), delivery_id),
    )


def dead_letter(conn: sqlite3.Connection, delivery_id: int, error: str) -> None:
    conn.execute(
        "UPDATE deliveries SET status='dead', lease_owner=NULL, lease_until=NULL, last_error=?, updated_at=?"
        " WHERE id=?",
        (error, time.time(), delivery_id),
    )


def release(conn: sqlite3.Connection, owner: str, ids: list[int] | None = None) -> int:
    """Hand claims back (shutdown): they stay pending for the next process, not lost."""
    now = time.time()
    if ids is None:
        return conn.execute(
            "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, attempts=MAX(attempts-1, 0),"
            " updated_at=? WHERE status='claimed' AND lease_owner=?",
            (now, owner),
        ).rowcount
    n = 0
    for delivery_id in ids:
        n += conn.execute(
            "UPDATE deliveries SET status='pending', lease_owner=NULL, lease_until=NULL, attempts=MAX(attempts-1, 0),"
            " updated_at=? WHERE id=? AND lease_owner=?",
            (now, delivery_id, owner),
        ).rowcount
    return n


def renew(conn: sqlite3.Connection, owner: str, lease_until: float) -> None:
    conn.execute("UPDATE deliveries SET lease_until=? WHERE status='claimed' AND lease_owner=?", (lease_until, owner))


def replay(conn: sqlite3.Connection, delivery_id: int | None) -> int:
    """Dead-lettered -> pending with a fresh try count. None replays every dead delivery."""
    where, args = ("status='dead'", ()) if delivery_id is None else ("status='dead' AND id=?", (delivery_id,))
    return conn.execute(
        f"UPDATE deliveries SET status='pending', attempts=0, available_at=?, updated_at=? WHERE {where}",
        (time.time(), time.time(), *args),
    ).rowcount


def claim_cron_tick(conn: sqlite3.Connection, step: str, tick: int, owner: str) -> bool:
    """True for exactly one process per (step, tick)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO cron_ticks (step, tick, owner, fired_at) VALUES (?, ?, ?, ?)",
        (step, tick, owner, time.time()),
    )
    conn.execute("DELETE FROM cron_ticks WHERE step=? AND tick < ?", (step, tick - 7 * 86400))
    return cur.rowcount == 1


def stats(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT topic, step, SUM(status='pending') AS pending, SUM(status='claimed') AS claimed,"
        " SUM(status='dead') AS dead"
        " FROM deliveries GROUP BY topic, step ORDER BY topic, step"
    ).fetchall()


def dead_deliveries(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM deliveries WHERE status='dead' ORDER BY id").fetchall()


def state_get(conn: sqlite3.Connection, group_id: str, key: str) -> Any:
    row = conn.execute("SELECT value FROM state WHERE group_id=? AND key=?", (group_id, key)).fetchone()
    return json.loads(row[0]) if row else None


def state_set(conn: sqlite3.Connection, group_id: str, key: str, value: Any) -> Any:
    conn.execute(
        "INSERT OR REPLACE INTO state (group_id, key, value) VALUES (?, ?, ?)", (group_id, key, json.dumps(value))
    )
    return value


def state_delete(conn: sqlite3.Connection, group_id: str, key: str) -> Any:
    value = state_get(conn, group_id, key)
    conn.execute("DELETE FROM state WHERE group_id=? AND key=?", (group_id, key))
    return value


def state_get_group(conn: sqlite3.Connection, group_id: str) -> list[Any]:
    return [
        json.loads(r[0]) for r in conn.execute("SELECT value FROM state WHERE group_id=? ORDER BY key", (group_id,))
    ]


def state_clear(conn: sqlite3.Connection, group_id: str) -> None:
    conn.execute("DELETE FROM state WHERE group_id=?", (group_id,))


# --- the async front: one writer thread, group commit -------------------------------------------


class Journal:
    """Runs journal operations on one thread, many per transaction, and hands results back to asyncio.

    The contract's methods (runtime/steprunner/journal/contract.py) are the module's operations, looked up
    when called (tests replace one to make it fail); `call` runs any other (the streams' tables).
    """

    def __init__(self, path: Path, sync: str = "FULL", node: str | None = None) -> None:
        self.path = path
        self.where = str(path)
        self.owner = new_owner_id(node)
        self._conn = connect(path, sync)
        self._ops: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="steprunner-journal", daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ops.put((fn, future, loop))
        return future

    # --- the journal contract ---

    async def insert(self, rows: list[NewDelivery], lease_seconds: float | None) -> list[int]:
        now = time.time()
        owner = self.owner if lease_seconds is not None else None
        lease_until = now + lease_seconds if lease_seconds is not None else None
        absolute = [(r.topic, r.step, r.data, r.trace_id, r.max_attempts, now + r.delay) for r in rows]
        return await self.call(lambda c: insert_deliveries(c, absolute, owner, lease_until))

    async def claim(self, limit: int, lease_seconds: float, steps: list[str]) -> list[Delivery]:
        owner, lease_until = self.owner, time.time() + lease_seconds

        def reclaim_then_claim(c: sqlite3.Connection) -> list[Delivery]:
            reclaim_abandoned(c, owner)
            return claim_due(c, owner, limit, lease_until, steps)

        return await self.call(reclaim_then_claim)

    async def ack(self, delivery_id: int) -> None:
        await self.call(lambda c: ack(c, delivery_id))

    async def retry_later(self, delivery_id: int, delay: float, error: str) -> None:
        available_at = time.time() + delay
        await self.call(lambda c: retry_later(c, delivery_id, available_at, error))

    async def dead_letter(self, delivery_id: int, error: str) -> None:
        await self.call(lambda c: dead_letter(c, delivery_id, error))

    async def renew(self, lease_seconds: float) -> None:
        owner, until = self.owner, time.time() + lease_seconds
        await self.call(lambda c: renew(c, owner, until))

    async def heartbeat(self, lease_seconds: float) -> None:
        """Nothing to write: on one host a claim's owner is alive while its pid is (`owner_is_dead`)."""

    async def recover(self) -> Recovered:
        owner = self.owner
        return await self.call(lambda c: recover(c, owner))

    async def in_flight(self) -> list[tuple[int, Any]]:
        return await self.call(in_flight)

    async def release(self) -> int:
        owner = self.owner
        return await self.call(lambda c: release(c, owner))

    def handler_transaction(self) -> Transaction | None:
        """None: pets.json and this file can't share a transaction; each write commits on its own."""
        return None

    async def commit_handler(self, tx: Transaction, lease_seconds: float | None, ack: int | None) -> list[int]:
        raise NotImplementedError("the SQLite journal opens no handler transactions")

    def listen(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: the sweep polls the file (`STEPRUNNER_POLL_SECONDS`)."""

    async def stats(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.call(stats)]

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.call(dead_deliveries)]

    async def replay(self, delivery_id: int | None) -> int:
        return await self.call(lambda c: replay(c, delivery_id))

    async def claim_cron_tick(self, step: str, tick: int) -> bool:
        owner = self.owner
        return await self.call(lambda c: claim_cron_tick(c, step, tick, owner))

    async def state_get(self, group_id: str, key: str) -> Any:
        return await self.call(lambda c: state_get(c, group_id, key))

    async def state_set(self, group_id: str, key: str, value: Any) -> Any:
        return await self.call(lambda c: state_set(c, group_id, key, value))

    async def state_delete(self, group_id: str, key: str) -> Any:
        return await self.call(lambda c: state_delete(c, group_id, key))

    async def state_get_group(self, group_id: str) -> list[Any]:
        return await self.call(lambda c: state_get_group(c, group_id))

    async def state_clear(self, group_id: str) -> None:
        await self.call(lambda c: state_clear(c, group_id))

    # --- the writer thread ---

    def close(self) -> None:
        self._ops.put(None)
        self._thread.join(timeout=10)
        self._conn.close()

    def _run(self) -> None:
        while True:
            first = self._ops.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:
                try:
                    item = self._ops.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run_batch(batch)
            if stop:
                return

    def _run_batch(self, batch: list[tuple[Callable, asyncio.Future, asyncio.AbstractEventLoop]]) -> None:
        conn = self._conn
        results: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    results.append((fn(conn), None))
                    conn.execute("RELEASE op")
                except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((None, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - the whole transaction failed: every caller hears it
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(None, exc)] * len(batch)
        for (_, future, loop), (value, error) in zip(batch, results):
            loop.call_soon_threadsafe(_settle, future, value, error)


def _settle(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)

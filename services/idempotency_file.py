"""`Idempotency-Key`s in SQLite, `DATA_DIR/idempotency.db`, the default: one small table shared by
every process of the machine (WAL, fsync on commit), kept KEEP_HOURS and across restarts.

A key is recorded as pending in a transaction of its own *before* the handler runs, so two
concurrent tries can't both run (the second gets 409), and its answer in another one after; the
rules are services/idempotency.py's. The database work runs off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from services.idempotency_contract import KEEP_HOURS, Seen

if TYPE_CHECKING:
    from steprunner.step_types import ApiResponse

FILE_NAME = "idempotency.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    response TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);
"""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    return conn


def claim(path: Path, key: str, fingerprint: str, now: float) -> Seen | None:
    """Record `key` as pending for this request and return None, or return what was recorded before."""
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEEP_HOURS * 3600,))
        row = conn.execute("SELECT fingerprint, state, response FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO idempotency_keys (key, fingerprint, state, created_at) VALUES (?, ?, 'pending', ?)",
                (key, fingerprint, now),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return None if row is None else Seen(row[0], row[1], json.loads(row[2]) if row[2] else None)


def settle(path: Path, key: str, response: ApiResponse | None) -> None:
    """Keep the answer with the key; None forgets the key (the change did not happen)."""
    conn = _connect(path)
    try:
        if response is None:
            conn.execute("DELETE FROM idempotency_keys WHERE key = ? AND state = 'pending'", (key,))
        else:
            conn.execute(
                "UPDATE idempotency_keys SET state = 'done', response = ? WHERE key = ?", (json.dumps(response), key)
            )
    finally:
        conn.close()


class FileKeys:
    """The keys in `DATA_DIR/idempotency.db`, worked on off the event loop."""

    in_transaction = False

    def __init__(self, path: Path) -> None:
        self.path = path

    async def claim(self, key: str, fingerprint: str) -> Seen | None:
        return await asyncio.to_thread(claim, self.path, key, fingerprint, time.time())

    async def settle(self, key: str, response: ApiResponse | None) -> None:
        await asyncio.to_thread(settle, self.path, key, response)

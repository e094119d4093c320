"""The streams' part of `steprunner db import`: a DATA_DIR's stream items, written into PostgreSQL's
(db/migrations/0002_streams.sql) in the caller's transaction.

Items are data (a stream with `storageType: default` keeps them until deleted); the change log is
not: it serves the subscribers of running servers, and there are none while moving. Each item
takes a `seq` of its own from the database's counter, in the order the file held them, so a group
lists in the same order there (oldest `_createdAt` first, then the order they were written).
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

import psycopg

TABLES = ("steprunner_stream_items",)


class CarriedItem(NamedTuple):
    stream: str
    group_id: str
    id: str
    item: str  # the JSON text the runtime wrote
    created_at: float


def read_items(conn: sqlite3.Connection) -> list[CarriedItem]:
    """The items of an open SQLite journal, in the order a group lists them; none if no server made the tables."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stream_items'").fetchone()
    if exists is None:
        return []
    rows = conn.execute("SELECT stream, group_id, id, item, created_at FROM stream_items ORDER BY created_at, rowid")
    return [CarriedItem(*row) for row in rows]


def held(conn: psycopg.Connection[Any]) -> dict[str, int]:
    row = conn.execute("SELECT count(*) FROM steprunner_stream_items").fetchone()
    assert row is not None
    return {"stream items": int(row[0])}


def clear(conn: psycopg.Connection[Any]) -> None:
    """Empty the items (`--replace`); the counter keeps counting up, as it always does."""
    conn.execute("DELETE FROM steprunner_stream_items")


def write(conn: psycopg.Connection[Any], items: list[CarriedItem]) -> dict[str, int]:
    if items:
        row = conn.execute(
            "UPDATE steprunner_stream_seq SET seq = seq + %s RETURNING seq - %s", (len(items), len(items))
        ).fetchone()
        assert row is not None
        first = int(row[0]) + 1
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO steprunner_stream_items (stream, group_id, id, item, created_at, seq)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(*item, first + n) for n, item in enumerate(items)],
            )
    return {"stream items": len(items)}

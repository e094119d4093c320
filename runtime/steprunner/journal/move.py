"""The journal's part of `steprunner db import`: what still matters in a DATA_DIR's SQLite journal,
written into PostgreSQL's (db/migrations/0001_journal.sql) in the caller's transaction.

What matters: the deliveries still to run (pending, and claimed by a server that stopped without
handing them back, which come over pending with their tries kept), the dead-lettered ones (to
replay there), and `context.state`. Cron ticks and node heartbeats are a running server's
bookkeeping and stay behind. Due times travel as seconds from now, as everywhere in the journal:
each database reads its own clock.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg

from steprunner.journal.postgres import CHANNEL

TABLES = ("steprunner_deliveries", "steprunner_state")


class CarriedDelivery(NamedTuple):
    """A delivery as it goes over: `delay` seconds until it is due (0: due now)."""

    topic: str
    step: str
    data: str  # the JSON text the runtime wrote
    trace_id: str
    status: str  # pending | dead
    attempts: int
    max_attempts: int
    delay: float
    last_error: str | None


@dataclass(frozen=True)
class JournalData:
    """What a SQLite journal holds that a database should carry on with."""

    deliveries: list[CarriedDelivery]
    state: list[tuple[str, str, str]]  # (group_id, key, JSON text)


def read_journal(conn: sqlite3.Connection) -> JournalData:
    """The deliveries (in id order) and state of an open SQLite journal."""
    now = time.time()
    rows = conn.execute(
        "SELECT topic, step, data, trace_id, status, attempts, max_attempts, available_at, last_error"
        " FROM deliveries ORDER BY id"
    )
    deliveries = [
        CarriedDelivery(
            topic,
            step,
            data,
            trace_id,
            "dead" if status == "dead" else "pending",
            attempts,
            max_attempts,
            max(0.0, available_at - now),
            error,
        )
        for topic, step, data, trace_id, status, attempts, max_attempts, available_at, error in rows
    ]
    state = [(g, k, v) for g, k, v in conn.execute("SELECT group_id, key, value FROM state ORDER BY group_id, key")]
    return JournalData(deliveries, state)


def held(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """What the database's journal already holds: events (deliveries of any status) and state values."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM steprunner_deliveries), (SELECT count(*) FROM steprunner_state)"
    ).fetchone()
    assert row is not None
    return {"events": int(row[0]), "state values": int(row[1])}


def clear(conn: psycopg.Connection[Any]) -> None:
    """Empty the database's deliveries and state (`--replace`)."""
    conn.execute("DELETE FROM steprunner_deliveries")
    conn.execute("DELETE FROM steprunner_state")


def write(conn: psycopg.Connection[Any], data: JournalData) -> dict[str, int]:
    """Insert the deliveries and state; running nodes are woken (NOTIFY, sent at commit) to take the deliveries."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO steprunner_deliveries"
            " (topic, step, data, trace_id, status, attempts, max_attempts, available_at, last_error)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s), %s)",
            data.deliveries,
        )
        cur.executemany("INSERT INTO steprunner_state (group_id, key, value) VALUES (%s, %s, %s)", data.state)
    if data.deliveries:
        conn.execute(f"NOTIFY {CHANNEL}".encode())
    return {"events": len(data.deliveries), "state values": len(data.state)}

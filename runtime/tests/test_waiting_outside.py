"""`waiting_outside()` on PostgreSQL: a handler that has written, then waits on something outside the
database, holds no connection and no lock meanwhile (runtime/docs/events.md, "Waiting outside the database").

A project of three steps in a temporary folder: an API step emits `t.wait`; its handler writes state,
emits `t.seen`, then waits inside `waiting_outside()` on a FIFO the test opens when it likes (no timer),
then writes state again. While it waits: what it wrote before is committed (another connection reads
it), what it emitted has run, and no backend idles in a transaction holding locks. After: the second
write commits with the delivery's ack.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import psycopg

from steprunner.testing.server import start_server
from steprunner.testing.waiting import wait_until

STEPS = {
    "start_api_step.py": """
        config = {"type": "api", "name": "Start", "path": "/start", "method": "POST", "emits": ["t.wait"]}

        async def handler(req, context):
            await context.emit({"topic": "t.wait", "data": req["body"]})
            return {"status": 202, "body": {}}
    """,
    "wait_step.py": """
        import asyncio

        from steprunner.journal.transaction import waiting_outside

        config = {
            "type": "event",
            "name": "Wait",
            "subscribes": ["t.wait"],
            "emits": ["t.seen"],
            "infrastructure": {"handler": {"timeout": 120}},  # the test opens the gate when it likes
        }

        def gate(path):
            with open(path) as fifo:  # blocks until the test opens the FIFO's other end
                return fifo.read()

        async def handler(data, context):
            await context.state.set("w", "before", data["n"])
            await context.emit({"topic": "t.seen", "data": data})
            async with waiting_outside():
                await asyncio.to_thread(gate, data["gate"])
            await context.state.set("w", "after", data["n"])
    """,
    "seen_step.py": """
        config = {"type": "event", "name": "Seen", "subscribes": ["t.seen"], "emits": []}

        async def handler(data, context):
            await context.state.set("w", "seen", data["n"])
    """,
}


def state(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    rows = conn.execute("SELECT key, value FROM steprunner_state WHERE group_id = 'w'").fetchall()
    return {key: json.loads(value) for key, value in rows}


def idle_holding_locks(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.granted"
        " WHERE a.datname = current_database() AND a.state LIKE 'idle in transaction%' AND a.pid <> pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return int(row[0])


def opened(fifo: Path) -> int | None:
    """The FIFO's write end, or None while no one reads it."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None


def test_a_handler_waiting_outside_holds_nothing_and_commits_in_two_parts(
    tmp_path: Path, empty_database_url: str
) -> None:
    root = tmp_path / "proj"
    (root / "steps").mkdir(parents=True)
    for name, source in STEPS.items():
        (root / "steps" / name).write_text(textwrap.dedent(source))
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    server = start_server(tmp_path / "data", root=root, env={"DATABASE_URL": empty_database_url})
    try:
        with server.client() as http, psycopg.connect(empty_database_url, autocommit=True) as watcher:
            assert http.post("/start", json={"n": 7, "gate": str(fifo)}).status_code == 202
            wait_until(
                lambda: state(watcher) == {"before": 7, "seen": 7},
                timeout=30,
                message="the first write committed and the emit run while the handler waits",
            )
            assert idle_holding_locks(watcher) == 0, "no backend idles in a transaction holding locks"
            pending = watcher.execute("SELECT count(*) FROM steprunner_deliveries WHERE step = 'Wait'").fetchone()
            assert pending == (1,), "the waiting delivery is not acked yet"

            # Let the handler go on: the FIFO opens once its reader is there (never a write that blocks forever).
            gate = wait_until(lambda: opened(fifo), timeout=30, message="the handler reading the gate")
            os.write(gate, b"go")
            os.close(gate)
            wait_until(
                lambda: (
                    state(watcher).get("after") == 7
                    and watcher.execute("SELECT count(*) FROM steprunner_deliveries").fetchone() == (0,)
                ),
                timeout=30,
                message="the second write committed with the ack",
            )
    finally:
        server.stop()
    assert "handler failed" not in server.logs()

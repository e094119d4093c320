"""Motia Streams' items and change log on PostgreSQL, when DATABASE_URL is set: every node shares them.

The same contract as the SQLite store (steprunner/stream_store.py), on the tables of
`steprunner/migrations/0002_streams.sql`:
- a write is one transaction: it takes the next `seq` from the one row of `steprunner_stream_seq`
  (whose lock it holds until it commits, so changes commit in `seq` order and a reader never sees
  change N+1 before change N), writes the item and its change row, and sends NOTIFY, which
  PostgreSQL delivers at commit: a node woken finds the row there;
- each node with streams LISTENs on a connection of its own and reads the log at once when
  woken; the poll (`STEPRUNNER_POLL_SECONDS`, the journal's safety net too) covers a lost connection;
- a join's sync data and the `seq` it is current to come from one statement, so one snapshot.

The cost: stream writes are serialized across the nodes on that row (one short transaction each,
a few round trips), which suits status and progress streams, not thousands of writes a second.
Every call runs on the process's database loop (steprunner/database.py).
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import psycopg

from steprunner.database import Database, database, describe
from steprunner.stream_store import Change, created_at

T = TypeVar("T")

CHANNEL = "steprunner_stream_changes"  # NOTIFY: a stream change was committed

_NEXT_SEQ = f"WITH n AS (UPDATE steprunner_stream_seq SET seq = seq + 1 RETURNING seq) SELECT seq, pg_notify('{CHANNEL}', '') FROM n"
_LOG = ("INSERT INTO steprunner_stream_changes (seq, stream, group_id, item_id, kind, payload)"
        " VALUES (%(seq)s, %(stream)s, %(group)s, %(id)s, %(kind)s, %(payload)s)")


class StreamStoreError(Exception):
    """The stream tables can't be reached or are missing; the message says which database and why."""


class PgStreamStore:
    """Stream items in one PostgreSQL database. The tables come from `python -m steprunner db migrate`."""

    def __init__(self, url: str, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self.db: Database = database(url)
        self.where = describe(url)
        self._listener: concurrent.futures.Future[None] | None = None

    async def _call(self, work: Callable[[psycopg.AsyncConnection[Any]], Coroutine[Any, Any, T]], transaction: bool = False) -> T:
        async def on_the_database_loop() -> T:
            opened = self.db.transaction() if transaction else self.db.connection()
            async with opened as conn:
                return await work(conn)

        try:
            return await self.db.submit(on_the_database_loop())
        except psycopg.errors.UndefinedTable:
            raise StreamStoreError(f"the stream tables are missing from {self.where}: run `python -m steprunner db migrate` "
                                   "(a steprunner server does it as it starts)") from None
        except psycopg.Error as exc:
            raise StreamStoreError(f"stream database {self.where}: {type(exc).__name__}: {str(exc).strip()}") from None

    async def start(self) -> None:
        await self.high_water()  # missing tables or an unreachable database stop start-up here, with the reason

    async def get(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
            row = await (await conn.execute(
                "SELECT item FROM steprunner_stream_items WHERE stream = %s AND group_id = %s AND id = %s", (stream, group_id, item_id)
            )).fetchone()
            return json.loads(row[0]) if row else None

        return await self._call(work)

    async def set(self, stream: str, group_id: str, item_id: str, item: dict[str, Any]) -> None:
        payload = json.dumps(item)

        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            seq = await _next_seq(conn)
            row = await (await conn.execute(
                "INSERT INTO steprunner_stream_items (stream, group_id, id, item, created_at, seq) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (stream, group_id, id) DO UPDATE SET item = EXCLUDED.item, created_at = EXCLUDED.created_at, seq = EXCLUDED.seq"
                " RETURNING xmax = 0",  # a row just inserted has no xmax: a create
                (stream, group_id, item_id, payload, created_at(item), seq),
            )).fetchone()
            kind = "create" if row and row[0] else "update"
            await conn.execute(_LOG, {"seq": seq, "stream": stream, "group": group_id, "id": item_id, "kind": kind, "payload": payload})

        await self._call(work, transaction=True)

    async def delete(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
            seq = await _next_seq(conn)  # first, as every writer: one lock order, no deadlock
            row = await (await conn.execute(
                "DELETE FROM steprunner_stream_items WHERE stream = %s AND group_id = %s AND id = %s RETURNING item", (stream, group_id, item_id)
            )).fetchone()
            if row is None:
                return None  # nothing logged; the `seq` taken is a gap, which readers don't mind
            await conn.execute(_LOG, {"seq": seq, "stream": stream, "group": group_id, "id": item_id, "kind": "delete", "payload": row[0]})
            item: dict[str, Any] = json.loads(row[0])
            return item

        return await self._call(work, transaction=True)

    async def group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        data, _ = await self.snapshot(stream, group_id, None)
        items: list[dict[str, Any]] = data
        return items

    async def send(self, stream: str, group_id: str, item_id: str | None, event: dict[str, Any]) -> None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            seq = await _next_seq(conn)
            await conn.execute(_LOG, {"seq": seq, "stream": stream, "group": group_id, "id": item_id, "kind": "event", "payload": json.dumps(event)})

        await self._call(work, transaction=True)

    async def snapshot(self, stream: str, group_id: str, item_id: str | None) -> tuple[Any, int]:
        """One statement, so one snapshot: the items and the last `seq` they include."""
        only_one = "AND id = %(id)s" if item_id is not None else ""
        query = (
            "SELECT s.seq, i.item FROM steprunner_stream_seq s LEFT JOIN LATERAL ("
            " SELECT item, created_at, seq FROM steprunner_stream_items"
            f" WHERE stream = %(stream)s AND group_id = %(group)s {only_one}) i ON true"
            " ORDER BY i.created_at, i.seq"
        )

        async def work(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, int]:
            rows = await (await conn.execute(query.encode(), {"stream": stream, "group": group_id, "id": item_id})).fetchall()
            items = [json.loads(item) for _, item in rows if item is not None]
            seq = int(rows[0][0])
            if item_id is not None:
                return (items[0] if items else None), seq
            return items, seq

        return await self._call(work)

    async def high_water(self) -> int:
        async def work(conn: psycopg.AsyncConnection[Any]) -> int:
            row = await (await conn.execute("SELECT seq FROM steprunner_stream_seq")).fetchone()
            return int(row[0]) if row else 0

        return await self._call(work)

    async def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        async def work(conn: psycopg.AsyncConnection[Any]) -> list[Change]:
            rows = await (await conn.execute(
                "SELECT seq, stream, group_id, item_id, kind, payload FROM steprunner_stream_changes WHERE seq > %s ORDER BY seq LIMIT %s",
                (seq, limit),
            )).fetchall()
            return [Change(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

        return await self._call(work)

    async def prune(self, keep_seconds: float) -> int:
        async def work(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute("DELETE FROM steprunner_stream_changes WHERE at < now() - make_interval(secs => %s)", (float(keep_seconds),))
            return cur.rowcount

        return await self._call(work)

    def listen(self, wake: Callable[[], None]) -> None:
        if self._listener is None:
            self._listener = self.db.listen(CHANNEL, wake, "stream changes of other nodes")

    async def close(self) -> None:
        """Stop listening (the pool is the process's: `database.close_all` lets it go)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None


async def _next_seq(conn: psycopg.AsyncConnection[Any]) -> int:
    """Take the next `seq` and hold its row until the transaction ends; NOTIFY goes out at commit."""
    row = await (await conn.execute(_NEXT_SEQ.encode())).fetchone()
    assert row is not None, "steprunner_stream_seq has its one row (0002_streams.sql)"
    return int(row[0])

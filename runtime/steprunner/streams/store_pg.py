"""Motia Streams' items and change log on PostgreSQL, when DATABASE_URL is set: every node shares them.

The SQLite store's contract (streams/store.py) with one-statement writes ordered by a counter row
and LISTEN/NOTIFY wake-ups; the rule and its cost: runtime/docs/streams.md.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import psycopg

from steprunner.db.pool import Database, database, describe
from steprunner.streams.store import Change, created_at

T = TypeVar("T")

CHANNEL = "steprunner_stream_changes"  # NOTIFY: a stream change was committed

# Every write is one statement, so one transaction in autocommit (one round trip): it takes the next
# `seq` first (every other part reads it, so it runs first: one lock order for all writers, no
# deadlock), holds that row's lock until it commits, and sends NOTIFY, delivered at commit.
_NEXT_SEQ = "n AS (UPDATE steprunner_stream_seq SET seq = seq + 1 RETURNING seq)"
_NOTIFY = f"pg_notify('{CHANNEL}', '')"
_SET = f"""
WITH {_NEXT_SEQ},
i AS (
    INSERT INTO steprunner_stream_items (stream, group_id, id, item, created_at, seq)
    SELECT %(stream)s::text, %(group)s::text, %(id)s::text, %(payload)s::text, %(created)s::double precision, n.seq
    FROM n
    ON CONFLICT (stream, group_id, id)
    DO UPDATE SET item = EXCLUDED.item, created_at = EXCLUDED.created_at, seq = EXCLUDED.seq
    RETURNING seq, xmax = 0 AS created  -- a row just inserted has no xmax: a create
)
INSERT INTO steprunner_stream_changes (seq, stream, group_id, item_id, kind, payload)
SELECT i.seq, %(stream)s::text, %(group)s::text, %(id)s::text,
       CASE WHEN i.created THEN 'create' ELSE 'update' END, %(payload)s::text
FROM i
RETURNING {_NOTIFY}
"""
# A delete of no item takes a `seq` and logs nothing: a gap, which readers don't mind.
_DELETE = f"""
WITH {_NEXT_SEQ},
d AS (
    DELETE FROM steprunner_stream_items WHERE stream = %(stream)s AND group_id = %(group)s AND id = %(id)s
    AND EXISTS (SELECT FROM n)
    RETURNING item
),
l AS (
    INSERT INTO steprunner_stream_changes (seq, stream, group_id, item_id, kind, payload)
    SELECT n.seq, %(stream)s::text, %(group)s::text, %(id)s::text, 'delete', d.item FROM n, d
)
SELECT d.item, {_NOTIFY} FROM d
"""
_SEND = f"""
WITH {_NEXT_SEQ}
INSERT INTO steprunner_stream_changes (seq, stream, group_id, item_id, kind, payload)
SELECT n.seq, %(stream)s::text, %(group)s::text, %(id)s::text, 'event', %(payload)s::text FROM n
RETURNING {_NOTIFY}
"""


class StreamStoreError(Exception):
    """The stream tables can't be reached or are missing; the message says which database and why."""


class PgStreamStore:
    """Stream items in one PostgreSQL database. The tables come from `python -m steprunner db migrate`."""

    def __init__(self, url: str, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self.database: Database = database(url)
        self.where = describe(url)
        self._listener: concurrent.futures.Future[None] | None = None

    async def _call(self, work: Callable[[psycopg.AsyncConnection[Any]], Coroutine[Any, Any, T]]) -> T:
        async def on_the_database_loop() -> T:
            async with self.database.connection() as conn:
                return await work(conn)

        try:
            return await self.database.submit(on_the_database_loop())
        except psycopg.errors.UndefinedTable:
            raise StreamStoreError(
                f"the stream tables are missing from {self.where}: run `python -m steprunner db migrate` "
                "(a steprunner server does it as it starts)"
            ) from None
        except psycopg.Error as exc:
            raise StreamStoreError(f"stream database {self.where}: {type(exc).__name__}: {str(exc).strip()}") from None

    async def start(self) -> None:
        await self.high_water()  # missing tables or an unreachable database stop start-up here, with the reason

    async def get(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
            row = await (
                await conn.execute(
                    "SELECT item FROM steprunner_stream_items WHERE stream = %s AND group_id = %s AND id = %s",
                    (stream, group_id, item_id),
                )
            ).fetchone()
            return json.loads(row[0]) if row else None

        return await self._call(work)

    async def set(self, stream: str, group_id: str, item_id: str, item: dict[str, Any]) -> None:
        params = {
            "stream": stream,
            "group": group_id,
            "id": item_id,
            "payload": json.dumps(item),
            "created": created_at(item),
        }

        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(_SET.encode(), params)

        await self._call(work)

    async def delete(self, stream: str, group_id: str, item_id: str) -> dict[str, Any] | None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
            row = await (
                await conn.execute(_DELETE.encode(), {"stream": stream, "group": group_id, "id": item_id})
            ).fetchone()
            if row is None:
                return None
            item: dict[str, Any] = json.loads(row[0])
            return item

        return await self._call(work)

    async def group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        data, _ = await self.snapshot(stream, group_id, None)
        items: list[dict[str, Any]] = data
        return items

    async def send(self, stream: str, group_id: str, item_id: str | None, event: dict[str, Any]) -> None:
        params = {"stream": stream, "group": group_id, "id": item_id, "payload": json.dumps(event)}

        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(_SEND.encode(), params)

        await self._call(work)

    async def snapshot(
        self, stream: str, group_id: str, item_id: str | None, limit: int | None = None
    ) -> tuple[Any, int]:
        """One statement, so one snapshot: the items (the newest `limit` of them) and the last `seq` they include."""
        only_one = "AND id = %(id)s" if item_id is not None else ""
        query = (
            "SELECT s.seq, i.item FROM steprunner_stream_seq s LEFT JOIN LATERAL ("
            " SELECT item, created_at, seq FROM steprunner_stream_items"
            f" WHERE stream = %(stream)s AND group_id = %(group)s {only_one}"
            " ORDER BY created_at DESC, seq DESC LIMIT %(limit)s) i ON true"
            " ORDER BY i.created_at, i.seq"
        )
        params = {"stream": stream, "group": group_id, "id": item_id, "limit": limit}

        async def work(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, int]:
            rows = await (await conn.execute(query.encode(), params)).fetchall()
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
            rows = await (
                await conn.execute(
                    "SELECT seq, stream, group_id, item_id, kind, payload FROM steprunner_stream_changes"
                    " WHERE seq > %s ORDER BY seq LIMIT %s",
                    (seq, limit),
                )
            ).fetchall()
            return [Change(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

        return await self._call(work)

    async def prune(self, keep_seconds: float) -> int:
        async def work(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute(
                "DELETE FROM steprunner_stream_changes WHERE at < now() - make_interval(secs => %s)",
                (float(keep_seconds),),
            )
            return cur.rowcount

        return await self._call(work)

    def listen(self, wake: Callable[[], None]) -> None:
        if self._listener is None:
            self._listener = self.database.listen(CHANNEL, wake, "stream changes of other nodes")

    async def close(self) -> None:
        """Stop listening (the pool is the process's: `database.close_all` lets it go)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None

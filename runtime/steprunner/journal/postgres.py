"""The event journal on PostgreSQL, when DATABASE_URL is set: every node shares the work.

The SQLite journal's contract (journal/contract.py) on competing consumers, leases on the
database's clock and LISTEN/NOTIFY wake-ups: runtime/docs/database.md.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from steprunner.db.pool import Database, database, describe
from steprunner.journal.contract import (
    ClaimLost,
    Delivery,
    JournalError,
    NewDelivery,
    Recovered,
    Transaction,
    new_owner_id,
    owner_is_dead,
)
from steprunner.journal.transaction import HandlerTransaction, reading, writing

T = TypeVar("T")

CHANNEL = "steprunner_deliveries"  # NOTIFY: pending work was journaled
CRON_TICKS_KEPT_SECONDS = 7 * 86400
NODES_KEPT = "1 hour"  # a node row that long lapsed is gone (its claims were taken over long since)

_INSERT = f"""
WITH new AS (
    INSERT INTO steprunner_deliveries
           (topic, step, data, trace_id, status, attempts, max_attempts, available_at, lease_owner, lease_until)
    SELECT r.topic, r.step, r.data, r.trace_id,
           CASE WHEN r.claimed THEN 'claimed' ELSE 'pending' END, CASE WHEN r.claimed THEN 1 ELSE 0 END,
           r.max_attempts, now() + make_interval(secs => r.delay),
           CASE WHEN r.claimed THEN %(owner)s END, CASE WHEN r.claimed THEN now() + make_interval(secs => %(lease)s) END
    FROM unnest(%(topics)s::text[], %(steps)s::text[], %(data)s::text[], %(traces)s::text[], %(max_attempts)s::int[],
                %(delays)s::float8[], %(claimed)s::bool[])
         WITH ORDINALITY AS r(topic, step, data, trace_id, max_attempts, delay, claimed, n)
    ORDER BY r.n
    RETURNING id, status
)
SELECT id, CASE WHEN status = 'pending' THEN pg_notify('{CHANNEL}', '')::text END FROM new
"""

# Due deliveries, and claims whose lease ran out or whose node's heartbeat lapsed (not this node's:
# a node that missed its own beats is still running what it holds).
_CLAIM = """
WITH due AS (
    SELECT id FROM steprunner_deliveries
    WHERE step = ANY(%(steps)s) AND (
        (status = 'pending' AND available_at <= now())
        OR (status = 'claimed' AND (lease_until < now() OR lease_owner IN (
            SELECT owner FROM steprunner_nodes WHERE alive_until < now() AND owner <> %(owner)s))))
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE steprunner_deliveries AS d
SET status = 'claimed', lease_owner = %(owner)s, lease_until = now() + make_interval(secs => %(lease)s),
    attempts = d.attempts + 1, updated_at = now()
FROM due WHERE d.id = due.id
RETURNING d.id, d.topic, d.step, d.data, d.trace_id, d.attempts, d.max_attempts
"""


class PgJournal:
    """The journal in one PostgreSQL database. The tables come from `python -m steprunner db migrate`."""

    def __init__(self, url: str, node: str | None = None) -> None:
        self.database: Database = database(url)
        self.where = describe(url)
        self.owner = new_owner_id(node)
        self._listener: concurrent.futures.Future[None] | None = None

    async def _call(
        self,
        work: Callable[[psycopg.AsyncConnection[Any]], Coroutine[Any, Any, T]],
        transaction: bool = False,
        joins: str | None = None,
    ) -> T:
        """Run `work` on a pooled connection (in one transaction if asked), on the database's loop.
        `joins="write"` or `"read"`: in the running handler's transaction, if there is one (state)."""

        async def on_the_database_loop() -> T:
            if joins == "write":
                opened = writing(self.database, one_statement=not transaction)
            elif joins == "read":
                opened = reading(self.database)
            else:
                opened = self.database.transaction() if transaction else self.database.connection()
            async with opened as conn:
                return await work(conn)

        return await self._mapped(on_the_database_loop())

    async def _mapped(self, on_the_database_loop: Coroutine[Any, Any, T]) -> T:
        """Run on the database's loop, its failures as JournalError."""
        try:
            return await self.database.submit(on_the_database_loop)
        except psycopg.errors.UndefinedTable:
            raise JournalError(
                f"the journal's tables are missing from {self.where}: run `python -m steprunner db migrate` "
                "(a steprunner server does it as it starts)"
            ) from None
        except psycopg.Error as exc:
            raise JournalError(f"journal database {self.where}: {type(exc).__name__}: {str(exc).strip()}") from None

    # --- deliveries ---

    async def insert(self, rows: list[NewDelivery], lease_seconds: float | None) -> list[int]:
        return await self._call(lambda conn: self._insert_on(conn, rows, lease_seconds))

    async def _insert_on(
        self, conn: psycopg.AsyncConnection[Any], rows: list[NewDelivery], lease_seconds: float | None
    ) -> list[int]:
        params = {
            "owner": self.owner,
            "lease": lease_seconds,
            "topics": [r.topic for r in rows],
            "steps": [r.step for r in rows],
            "data": [json.dumps(r.data) for r in rows],
            "traces": [r.trace_id for r in rows],
            "max_attempts": [r.max_attempts for r in rows],
            "delays": [float(r.delay) for r in rows],
            "claimed": [lease_seconds is not None and r.delay <= 0 for r in rows],
        }
        found = await (await conn.execute(_INSERT, params)).fetchall()
        return sorted(row[0] for row in found)  # ids follow the rows' order (one statement, in order)

    # --- one transaction per handler ---

    def handler_transaction(self) -> HandlerTransaction:
        return HandlerTransaction(self.database)

    async def commit_handler(self, tx: Transaction, lease_seconds: float | None, ack: int | None) -> list[int]:
        assert isinstance(tx, HandlerTransaction), "a handler transaction of this journal's"
        rows = tx.emitted
        if not tx.begun and not rows:  # it wrote nothing: the ack alone, one statement, as without a transaction
            tx.open = False
            if ack is not None:
                await self.ack(ack)
            return []

        async def last(conn: psycopg.AsyncConnection[Any]) -> list[int]:
            ids = await self._insert_on(conn, rows, lease_seconds) if rows else []
            if ack is not None:
                cur = await conn.execute(
                    "DELETE FROM steprunner_deliveries WHERE id = %s AND status = 'claimed' AND lease_owner = %s",
                    (ack, self.owner),
                )
                if cur.rowcount != 1:
                    raise ClaimLost(
                        f"delivery {ack} was taken over by another node; what its handler wrote is rolled back"
                    )
            return ids

        return await self._mapped(tx.finish(last))

    async def claim(self, limit: int, lease_seconds: float, steps: list[str]) -> list[Delivery]:
        async def work(conn: psycopg.AsyncConnection[Any]) -> list[Delivery]:
            params = {"steps": steps, "owner": self.owner, "limit": limit, "lease": lease_seconds}
            rows = await (await conn.execute(_CLAIM, params)).fetchall()
            return sorted(
                (Delivery(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows), key=lambda d: d.id
            )

        return await self._call(work)

    async def ack(self, delivery_id: int) -> None:
        await self._execute("DELETE FROM steprunner_deliveries WHERE id = %s", (delivery_id,))

    async def retry_later(self, delivery_id: int, delay: float, error: str) -> None:
        await self._execute(
            "UPDATE steprunner_deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,"
            " available_at = now() + make_interval(secs => %s), last_error = %s, updated_at = now()"
            " WHERE id = %s AND status = 'claimed' AND lease_owner = %s",
            (float(delay), error, delivery_id, self.owner),
        )

    async def dead_letter(self, delivery_id: int, error: str) -> None:
        await self._execute(
            "UPDATE steprunner_deliveries SET status = 'dead', lease_owner = NULL, lease_until = NULL,"
            " last_error = %s, updated_at = now() WHERE id = %s AND status = 'claimed' AND lease_owner = %s",
            (error, delivery_id, self.owner),
        )

    async def renew(self, lease_seconds: float) -> None:
        await self._execute(
            "UPDATE steprunner_deliveries SET lease_until = now() + make_interval(secs => %s)"
            " WHERE status = 'claimed' AND lease_owner = %s",
            (float(lease_seconds), self.owner),
        )

    async def heartbeat(self, lease_seconds: float) -> None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(
                "INSERT INTO steprunner_nodes (owner, alive_until) VALUES (%s, now() + make_interval(secs => %s))"
                " ON CONFLICT (owner) DO UPDATE SET alive_until = EXCLUDED.alive_until",
                (self.owner, float(lease_seconds)),
            )
            await conn.execute(
                f"DELETE FROM steprunner_nodes WHERE alive_until < now() - interval '{NODES_KEPT}'".encode()
            )

        await self._call(work)

    async def recover(self) -> Recovered:
        me = self.owner
        mine = me.partition(":")[0] + ":%"

        async def work(conn: psycopg.AsyncConnection[Any]) -> Recovered:
            cursor = await conn.execute(
                "SELECT DISTINCT lease_owner FROM steprunner_deliveries"
                " WHERE status = 'claimed' AND lease_owner LIKE %s"
                " UNION SELECT owner FROM steprunner_nodes WHERE owner LIKE %s",
                (mine, mine),
            )
            dead = [row[0] for row in await cursor.fetchall() if row[0] and owner_is_dead(row[0], me)]
            if not dead:
                return Recovered()
            cursor = await conn.execute(
                "UPDATE steprunner_deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,"
                " updated_at = now() WHERE status = 'claimed' AND lease_owner = ANY(%s) RETURNING id",
                (dead,),
            )
            released = tuple(row[0] for row in await cursor.fetchall())
            await conn.execute("DELETE FROM steprunner_nodes WHERE owner = ANY(%s)", (dead,))
            if released:
                await conn.execute(f"NOTIFY {CHANNEL}".encode())  # every node may take them at once
            return Recovered(tuple(dead), released)

        return await self._call(work, transaction=True)

    async def in_flight(self) -> list[tuple[int, Any]]:
        rows = await self._rows(
            "SELECT id, data FROM steprunner_deliveries WHERE status IN ('pending', 'claimed') ORDER BY id"
        )
        return [(row["id"], json.loads(row["data"])) for row in rows]

    async def release(self) -> int:
        async def work(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute(
                "UPDATE steprunner_deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,"
                " attempts = greatest(attempts - 1, 0), updated_at = now()"
                " WHERE status = 'claimed' AND lease_owner = %s",
                (self.owner,),
            )
            await conn.execute("DELETE FROM steprunner_nodes WHERE owner = %s", (self.owner,))
            if cur.rowcount:
                await conn.execute(f"NOTIFY {CHANNEL}".encode())  # the other nodes take them at once
            return cur.rowcount

        return await self._call(work, transaction=True)

    # --- wake-ups ---

    def listen(self, wake: Callable[[], None]) -> None:
        if self._listener is None:
            self._listener = self.database.listen(CHANNEL, wake, "other nodes' events")

    def close(self) -> None:
        """Stop listening (the pool is the process's: `database.close_all` lets it go)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None

    # --- the `events` CLI ---

    async def stats(self) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT topic, step, count(*) FILTER (WHERE status = 'pending') AS pending,"
            " count(*) FILTER (WHERE status = 'claimed') AS claimed,"
            " count(*) FILTER (WHERE status = 'dead') AS dead FROM steprunner_deliveries GROUP BY topic, step"
            ' ORDER BY topic COLLATE "C", step COLLATE "C"'
        )

    async def dead_letters(self) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT id, topic, step, data, trace_id, attempts, max_attempts, last_error FROM steprunner_deliveries"
            " WHERE status = 'dead' ORDER BY id"
        )

    async def replay(self, delivery_id: int | None) -> int:
        where, args = (
            ("status = 'dead'", ()) if delivery_id is None else ("status = 'dead' AND id = %s", (delivery_id,))
        )

        async def work(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute(
                (
                    "UPDATE steprunner_deliveries SET status = 'pending', attempts = 0, available_at = now(),"
                    f" updated_at = now() WHERE {where}"
                ).encode(),
                args,
            )
            if cur.rowcount:
                await conn.execute(f"NOTIFY {CHANNEL}".encode())
            return cur.rowcount

        return await self._call(work, transaction=True)

    # --- cron ---

    async def claim_cron_tick(self, step: str, tick: int) -> bool:
        async def work(conn: psycopg.AsyncConnection[Any]) -> bool:
            cur = await conn.execute(
                "WITH old AS (DELETE FROM steprunner_cron_ticks WHERE step = %(step)s AND tick < %(oldest)s)"
                " INSERT INTO steprunner_cron_ticks (step, tick, owner) VALUES (%(step)s, %(tick)s, %(owner)s)"
                " ON CONFLICT DO NOTHING",
                {"step": step, "tick": tick, "oldest": tick - CRON_TICKS_KEPT_SECONDS, "owner": self.owner},
            )
            return cur.rowcount == 1

        return await self._call(work)

    # --- `context.state` ---

    async def state_get(self, group_id: str, key: str) -> Any:
        rows = await self._rows(
            "SELECT value FROM steprunner_state WHERE group_id = %s AND key = %s", (group_id, key), joins="read"
        )
        return json.loads(rows[0]["value"]) if rows else None

    async def state_set(self, group_id: str, key: str, value: Any) -> Any:
        await self._execute(
            "INSERT INTO steprunner_state (group_id, key, value) VALUES (%s, %s, %s)"
            " ON CONFLICT (group_id, key) DO UPDATE SET value = EXCLUDED.value",
            (group_id, key, json.dumps(value)),
            joins="write",
        )
        return value

    async def state_delete(self, group_id: str, key: str) -> Any:
        rows = await self._rows(
            "DELETE FROM steprunner_state WHERE group_id = %s AND key = %s RETURNING value",
            (group_id, key),
            joins="write",
        )
        return json.loads(rows[0]["value"]) if rows else None

    async def state_get_group(self, group_id: str) -> list[Any]:
        rows = await self._rows(
            "SELECT value FROM steprunner_state WHERE group_id = %s ORDER BY key", (group_id,), joins="read"
        )
        return [json.loads(r["value"]) for r in rows]

    async def state_clear(self, group_id: str) -> None:
        await self._execute("DELETE FROM steprunner_state WHERE group_id = %s", (group_id,), joins="write")

    # --- helpers ---

    async def _execute(self, query: str, args: tuple[Any, ...], joins: str | None = None) -> None:
        async def work(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(query.encode(), args)

        await self._call(work, joins=joins)

    async def _rows(self, query: str, args: tuple[Any, ...] = (), joins: str | None = None) -> list[dict[str, Any]]:
        async def work(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query.encode(), args)
                return await cur.fetchall()

        return await self._call(work, joins=joins)

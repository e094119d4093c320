"""The connection pool on PostgreSQL: handlers' transactions never take every connection.

A handler holding a pet's row lock may need one more connection for a short statement (its timeline
item's stream write); the handlers waiting for that row lock each hold one of their own. Were they
allowed the whole pool, the holder would wait for a connection that never comes (seen as 10 s stalls
and PoolTimeout 500s under a burst of reviews of one pet, tests/pets/test_review_agents.py on PostgreSQL).
"""

from __future__ import annotations

import asyncio
from typing import Any

from steprunner.db.pool import database


def test_handlers_holding_connections_leave_some_for_short_statements(database_url: str) -> None:
    db = database(database_url)
    size, handler_connections = db.pool_settings.size, db.handler_connections

    async def scenario() -> None:
        handlers = [asyncio.ensure_future(db.acquire()) for _ in range(size)]  # a burst, as many as the pool
        done, waiting = await asyncio.wait(handlers, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        while len(done) < handler_connections:
            more, waiting = await asyncio.wait(waiting, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            assert more, "handlers got their connections"
            done |= more
        async with db.connection() as conn:  # a short statement while every handler that could is holding one
            cursor = await conn.execute(b"SELECT 1")
            assert await cursor.fetchone() == (1,)
        held: list[Any] = [h.result() for h in done]
        assert len(held) == handler_connections < size, "the rest of the burst waits for a handler to finish"
        for conn in held:
            await db.give_back(conn)
        for conn in await asyncio.wait_for(asyncio.gather(*waiting), 30):  # then it gets its turn
            await db.give_back(conn)

    try:
        db.run(scenario())
    finally:
        db.close()

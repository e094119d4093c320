"""PostgreSQL, when DATABASE_URL is set: the process's connection pool for it, on a loop of its own.

An async pool dies with the loop it was opened on, so one loop on its own thread holds the pool for
the life of the process and callers hand it their work (`submit`, `run`); a caller that waits too
long for a connection gets DatabaseBusy, one whose connection was lost gets DatabaseUnavailable.
Why, and what the hop costs: runtime/docs/database.md.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import uvloop
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from steprunner.db.busy import DatabaseBusy, DatabaseUnavailable
from steprunner.log import runtime_log
from steprunner.settings import DATABASE_POOL_SIZE_VARIABLE, database_pool_from_env

T = TypeVar("T")

# Connections of the pool that handler transactions may not take; they serve the short statements (a
# stream write, a read) that a handler holding a pet's row lock needs. Without this spare, handlers
# waiting for that row lock, each holding a connection, could take them all: the holder waits for one
# until the pool's timeout.
SPARE_CONNECTIONS = 2
APPLICATION_NAME = "steprunner"  # shown in pg_stat_activity
LISTEN_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
# SQLSTATE classes of a database that went away or cannot take us now: connection exceptions, the
# server shutting down, crashed or starting up (57P01-57P03), too many connections
UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database went away (or is not there yet), not that a statement was wrong.

    psycopg's own connection errors ("server closed the connection unexpectedly", "connection failed")
    carry no SQLSTATE."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    return exc.sqlstate is None or exc.sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def unavailable(url: str, exc: psycopg.OperationalError) -> DatabaseUnavailable:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return DatabaseUnavailable(f"database {describe(url)} is unavailable: {type(exc).__name__}: {first_line}")


def describe(url: str) -> str:
    """`postgresql://user@host:port/db`: the URL without its password, for logs and messages."""
    try:
        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - an unparsable URL: say so without echoing it
        return "postgresql://(unparsable DATABASE_URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host') or 'localhost'}{port}/{parts.get('dbname') or ''}"


class Database:
    """One database URL: its pool, on its own loop thread. Use `database(url)`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool_settings = database_pool_from_env()
        self.handler_connections = self.pool_settings.size - SPARE_CONNECTIONS  # at once; the rest wait in `acquire`
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: AsyncConnectionPool | None = None
        self._handler_slots: asyncio.Semaphore | None = None  # made on the database's loop, with the pool

    async def submit(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the database's loop and await its result from the caller's loop.

        Cancelling the caller cancels `coro` too (its transaction rolls back). A lost connection raises
        DatabaseUnavailable (a 503 for a request), not psycopg's error.
        """
        loop = self._running_loop()
        try:
            if asyncio.get_running_loop() is loop:
                return await coro
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))
        except psycopg.OperationalError as exc:
            if is_unavailable(exc):
                raise unavailable(self.url, exc) from exc
            raise

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start `coro` on the database's loop and return at once (a listener that runs for the
        process's life); cancelling the future cancels it."""
        return asyncio.run_coroutine_threadsafe(coro, self._running_loop())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the database's loop and wait for its result (callers without an event loop); a lost
        connection raises DatabaseUnavailable, as in `submit`."""
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._running_loop()).result()
        except psycopg.OperationalError as exc:
            if is_unavailable(exc):
                raise unavailable(self.url, exc) from exc
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection in autocommit: each statement its own transaction (one round trip for a
        read). Only on the database's loop (in a coroutine given to `submit` or `run`)."""
        pool = await self._opened_pool()
        conn = await self._get(pool)  # as `pool.connection()` does, but with DatabaseBusy for its PoolTimeout
        try:
            async with conn:
                yield conn
        finally:
            await pool.putconn(conn)

    async def acquire(self) -> AsyncConnection[Any]:
        """A pooled connection (autocommit) kept until `give_back`: a handler's transaction spans many
        calls (runtime/steprunner/journal/transaction.py). Only on the database's loop. At most
        `handler_connections` at once: past that, it waits for a `give_back`, as long as the pool's
        timeout, then DatabaseBusy (a 503 for a request, a failed try for an event)."""
        pool = await self._opened_pool()
        assert self._handler_slots is not None
        try:
            await asyncio.wait_for(self._handler_slots.acquire(), self.pool_settings.timeout_seconds)
        except TimeoutError:
            raise DatabaseBusy(
                f"database {describe(self.url)}: all {self.handler_connections} connections this process keeps "
                f"for handlers stayed busy for {self.pool_settings.timeout_seconds:g} s (long handlers, rows locked "
                f"by others, or a pool too small for the load: {DATABASE_POOL_SIZE_VARIABLE})"
            ) from None
        try:
            return await self._get(pool)
        except BaseException:
            self._handler_slots.release()
            raise

    async def _get(self, pool: AsyncConnectionPool) -> AsyncConnection[Any]:
        """A connection of the pool, or DatabaseBusy when none came free within the pool's timeout."""
        try:
            return await pool.getconn()
        except PoolTimeout:
            raise DatabaseBusy(
                f"database {describe(self.url)}: no connection of this process's {self.pool_settings.size} came "
                f"free within {self.pool_settings.timeout_seconds:g} s (the database is overloaded or out of reach, "
                f"or this node runs more at once than its pool holds: {DATABASE_POOL_SIZE_VARIABLE})"
            ) from None

    async def give_back(self, conn: AsyncConnection[Any]) -> None:
        """Return a connection from `acquire` (the pool discards it if it is broken or mid-transaction)."""
        if self._pool is not None:
            await self._pool.putconn(conn)
        if self._handler_slots is not None:
            self._handler_slots.release()

    async def _opened_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=self.pool_settings.size,
                timeout=self.pool_settings.timeout_seconds,
                open=False,
                kwargs={"application_name": APPLICATION_NAME, "autocommit": True},
                name=f"steprunner-{os.getpid()}",
            )
            await self._pool.open(wait=False)
            self._handler_slots = asyncio.Semaphore(self.handler_connections)
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection inside one transaction: committed when the block ends, rolled back if it
        raises. Only on the database's loop."""
        async with self.connection() as conn:
            async with conn.transaction():
                yield conn

    def listen(self, channel: str, wake: Callable[[], None], what: str) -> concurrent.futures.Future[None]:
        """Call `wake` on the caller's loop at every NOTIFY on `channel`, and once each time the listening
        connection is (re)made (what was notified while nobody listened). `what` names the listener in
        the log lines of a lost connection. Cancel the returned future to stop."""
        loop = asyncio.get_running_loop()

        def wake_there() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake)

        return self.spawn(self._listen(channel, wake_there, what))

    async def _listen(self, channel: str, wake: Callable[[], None], what: str) -> None:
        """LISTEN on a connection of its own (a pooled one can't hold a LISTEN), reconnecting after a failure."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name=APPLICATION_NAME
                ) as conn:
                    await conn.execute(f"LISTEN {channel}".encode())
                    if failures:
                        runtime_log.info(f"{what}: listening again", {"database": describe(self.url)})
                    failures = 0
                    wake()
                    async for _ in conn.notifies():
                        wake()
            except psycopg.Error as exc:
                delay = LISTEN_RETRY_SECONDS[min(failures, len(LISTEN_RETRY_SECONDS) - 1)]
                failures += 1
                runtime_log.warn(
                    f"{what}: lost the wake-up connection; polling meanwhile; connecting again in {delay:g}s",
                    {"database": describe(self.url), "error": f"{type(exc).__name__}: {str(exc).strip()}"},
                )
                await asyncio.sleep(delay)  # a backoff before reconnecting, not a wait for another task

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = self._loop = uvloop.new_event_loop()
                threading.Thread(target=loop.run_forever, name="database", daemon=True).start()
            return self._loop

    def close(self) -> None:
        """Close the pool and stop the loop thread (a later call starts them again)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_pool(), loop).result()
        loop.call_soon_threadsafe(loop.stop)

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        self._handler_slots = None
        if pool is not None:
            await pool.close()


_databases: dict[tuple[int, str], Database] = {}
_databases_lock = threading.Lock()


def database(url: str) -> Database:
    """The process's Database for `url` (a forked child gets its own: pools and threads don't survive a fork)."""
    key = (os.getpid(), url)
    found = _databases.get(key)
    if found is None:
        with _databases_lock:
            if not _databases:
                atexit.register(close_all)  # runs before the interpreter stops the loop threads mid-work
            found = _databases.setdefault(key, Database(url))
    return found


def close_all() -> None:
    """Let every connection of this process go cleanly (a stopping server, the end of a command)."""
    for (pid, _), db in list(_databases.items()):
        if pid == os.getpid():
            db.close()

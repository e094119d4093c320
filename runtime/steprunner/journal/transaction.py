"""One transaction per handler on PostgreSQL: what a handler writes commits when it returns, or not at all.

The store's writes join the handler's transaction (`writing`, `reading`) and its emits commit with
it, so a crash leaves neither; why it begins at the first write and how the binding travels to the
database's loop: runtime/docs/events.md. No psycopg here: the bus imports this module either way.

A handler never holds its transaction (a pooled connection, the rows it wrote) while it waits on
anything outside the database: such a wait goes inside `waiting_outside()`, which commits what the
handler did so far first (runtime/docs/events.md, "Waiting outside the database").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from steprunner.journal.contract import NewDelivery, Transaction

if TYPE_CHECKING:
    from psycopg import AsyncConnection

    from steprunner.db.pool import Database

T = TypeVar("T")

_current: ContextVar[Transaction | None] = ContextVar("steprunner_handler_transaction", default=None)


class TransactionFailed(Exception):
    """A statement of the handler's transaction failed (the handler caught the error and went on): it
    can't commit, and rolls back."""


class HandlerTransaction:
    """The transaction of one running handler, on one database. Made by the journal (`handler_transaction()`)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.open = True  # False once it committed or rolled back: a task the handler left behind writes on its own
        self.emitted: list[NewDelivery] = []  # journaled as it commits
        self._conn: AsyncConnection[Any] | None = None
        self._beginning: asyncio.Lock | None = None  # made on the database's loop
        # The bus's: journal the emits so far and commit them with the writes, without the delivery's ack.
        self.commit_so_far: Callable[[], Awaitable[None]] | None = None

    def reopen(self) -> None:
        """After what the handler did so far committed: its next write begins a new transaction."""
        self.open = True
        self.emitted = []

    @property
    def begun(self) -> bool:
        return self._conn is not None

    async def connection(self) -> AsyncConnection[Any]:
        """Its connection, the transaction begun on first use. Only on the database's loop."""
        if self._beginning is None:
            self._beginning = asyncio.Lock()
        async with self._beginning:  # two tasks of one handler writing at once begin it once
            if self._conn is None:
                conn = await self.database.acquire()
                try:
                    await conn.execute(b"BEGIN")
                except BaseException:
                    await self.database.give_back(conn)
                    raise
                self._conn = conn
        return self._conn

    async def finish(self, last: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run `last` in the transaction (beginning it if need be), then commit; roll back if anything fails."""
        self.open = False
        return await self.database.submit(self._commit(last))

    async def rollback(self) -> None:
        """Roll back whatever it wrote (nothing to do once committed or never begun)."""
        self.open = False
        if self._conn is not None:
            await self.database.submit(self._end(commit=False))

    async def _commit(self, last: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        from psycopg.pq import TransactionStatus

        conn = await self.connection()
        try:
            result = await last(conn)
            if conn.info.transaction_status != TransactionStatus.INTRANS:
                raise TransactionFailed(
                    "a statement of the handler's transaction failed earlier; everything it wrote is rolled back"
                )
        except BaseException:
            await self._end(commit=False)
            raise
        await self._end(commit=True)
        return result

    async def _end(self, commit: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(b"COMMIT" if commit else b"ROLLBACK")
        except BaseException:
            if commit:
                await self._discard(conn)
                raise
            await self._discard(conn)  # a connection that can't even roll back is closed: the server rolls back
            return
        await self.database.give_back(conn)

    async def _discard(self, conn: AsyncConnection[Any]) -> None:
        with contextlib.suppress(Exception):
            await conn.close()
        await self.database.give_back(conn)


def current() -> HandlerTransaction | None:
    """The transaction of the handler running in this context, if it is still open."""
    tx = _current.get()
    return tx if isinstance(tx, HandlerTransaction) and tx.open else None


@contextlib.asynccontextmanager
async def waiting_outside() -> AsyncIterator[None]:
    """Wait on something outside the database (a model, another service) holding no connection and no lock.

    What the running handler wrote and emitted so far commits first (its delivery is not acked yet:
    a crash from here on runs the handler again, which must then find its first writes done, as
    with the SQLite journal, where every write commits on its own). Inside, the handler has no
    transaction (each write commits on its own); after, its next write begins a new one. Without a
    handler transaction (SQLite, real Motia, outside a handler) it does nothing.
    """
    tx = current()
    if tx is None:
        yield
        return
    if tx.commit_so_far is not None:
        await tx.commit_so_far()
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def bound(tx: Transaction | None) -> Iterator[None]:
    """Bind `tx` to the code run inside (the handler)."""
    token = _current.set(tx)
    try:
        yield
    finally:
        _current.reset(token)


def joined(database: Database) -> HandlerTransaction | None:
    """The running handler's open transaction if it is on `database` (what `writing` and `reading` join)."""
    tx = current()
    return tx if tx is not None and tx.database is database else None


@contextlib.asynccontextmanager
async def writing(database: Database, one_statement: bool = False) -> AsyncIterator[AsyncConnection[Any]]:
    """Where to write: the running handler's transaction (begun now if need be), else a transaction of
    its own (or, for `one_statement`, a pooled connection in autocommit). Only on the database's loop."""
    tx = joined(database)
    if tx is not None:
        yield await tx.connection()
    elif one_statement:
        async with database.connection() as conn:
            yield conn
    else:
        async with database.transaction() as conn:
            yield conn


@contextlib.asynccontextmanager
async def reading(database: Database) -> AsyncIterator[AsyncConnection[Any]]:
    """Where to read: the running handler's transaction once it has begun (a handler reads what it
    wrote), else a pooled connection in autocommit. Only on the database's loop."""
    tx = joined(database)
    if tx is not None and tx.begun:
        yield await tx.connection()
    else:
        async with database.connection() as conn:
            yield conn

"""The pet store on PostgreSQL, when DATABASE_URL is set: every node sees every pet.

The same contract and promises as the JSON store (services/store_contract.py), so the steps don't
know which one `get_store()` gave them: the same documents, ids "1", "2", ... (from one sequence
shared by every node, never reused), the same listing order, filters and cursors. A change is one
transaction: `modify` runs `decide` on the row locked FOR UPDATE, so concurrent changes of one pet
from any number of processes and machines lose nothing. The table is `migrations/0001_pets.sql`.

Inside a step handler on steprunner, the writes join the handler's transaction and commit with
its emits when it returns (runtime/steprunner/journal/transaction.py); a row it changed stays locked
until then. Elsewhere (real Motia, tools, tests) each call is a transaction of its own.

Async callers (the steps) use the `a...` methods, sync callers (tools, tests) the plain names;
both hand the work to the database's own loop (runtime/steprunner/db/pool.py), where `decide` and
`judge` run too, as they run on the JSON store's committer thread.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

import psycopg

from services.clock import Clock, now_ms
from services.models import Status
from services.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor, encode_cursor
from services.store_contract import (
    Change,
    Decides,
    Judges,
    Page,
    Patch,
    Pet,
    StoreBusyError,
    StoreError,
    decided,
    sort_key,
)
from steprunner.db.busy import DatabaseBusy, DatabaseUnavailable
from steprunner.db.pool import Database, database, describe
from steprunner.journal.transaction import reading, writing

D = TypeVar("D", bound=Decides)
V = TypeVar("V", bound=Judges)
P = ParamSpec("P")
T = TypeVar("T")

_ORDER = "id_kind, id_number, id"
# A new pet: the next id, written first in its document (as pets.json has it) ahead of the rest,
# whose encoding `{...}` loses its opening brace.
_INSERT_NEXT = """
INSERT INTO pets (id, doc)
SELECT id, ('{"id": ' || to_json(id)::text || ', ' || substr(%s, 2))::json
FROM (SELECT nextval('pet_ids')::text AS id) AS next
RETURNING id
"""


def encode_doc(pet: Mapping[str, Any]) -> str:
    """A pet as the document stored: what pets.json would hold for it (ValueError for NaN and the like)."""
    return json.dumps(pet, ensure_ascii=False, allow_nan=False)


def _store_errors(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Database failures as StoreError (the API answers 500 naming the problem, never the password); no
    connection free in time as StoreBusyError (503, try again), on real Motia as on steprunner."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except psycopg.errors.UndefinedTable:
            raise StoreError(
                "The pets table is missing from the database: run `python -m steprunner db migrate` "
                "(a steprunner server does it as it starts)",
                public="The pet store's database has no pets table yet; the server log says what to run",
            ) from None
        except DatabaseBusy as exc:  # DatabaseUnavailable too: the database went away under the statement
            what = (
                "its database is unavailable"
                if isinstance(exc, DatabaseUnavailable)
                else "no database connection came free in time"
            )
            raise StoreBusyError(str(exc), public=f"The pet store is busy ({what}); try again shortly") from None
        except psycopg.Error as exc:
            store: PgPetStore = args[0]  # type: ignore[assignment]
            raise StoreError(
                f"Pet store database {describe(store.db.url)}: {type(exc).__name__}: {str(exc).strip()}"
            ) from None

    return wrapped


class PgPetStore:
    """The pets in one PostgreSQL database. Use `pg_store(url)` (or `get_store()` with DATABASE_URL set)."""

    def __init__(self, url: str, clock: Clock = now_ms) -> None:
        self.db: Database = database(url)
        self.clock = clock

    # ----------------------------------------------------------------- async (the steps)

    async def aget(self, pet_id: str) -> Pet | None:
        """The pet with this id (deleted ones included), or None. A fresh dict every call."""
        return await self.db.submit(self._get(pet_id))

    async def alist(self, **query: Any) -> Page:
        """A page of pets in id order, after `cursor`, optionally filtered by `status` and `species`;
        deleted pets only when asked for with `status="deleted"`. ValueError for a bad limit or cursor."""
        return await self.db.submit(self._list(**query))

    async def aall(self) -> builtins.list[Pet]:
        """Every pet, deleted ones included, in id order (the reconciler's and the tools' view)."""
        return await self.db.submit(self._all())

    async def acreate(self, fields: Mapping[str, Any]) -> Pet:
        """Store a new pet and return it: the next id from the shared sequence, createdAt = updatedAt = now."""
        return await self.db.submit(self._create(fields))

    async def amodify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        """Read-modify-write one pet in one transaction, its row locked FOR UPDATE; None for an unknown id.

        `decide(pet)` sees the pet as it is now and no other change can come in between; if it
        raises, nothing is written. `updatedAt` is set to now unless the patch sets it.
        """
        return await self.db.submit(self._modify(pet_id, decide))

    async def apurge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        """Judge every pet and remove, in one transaction, those whose verdict says `purge`.

        Returns (pet, verdict) for every pet judged (`judge` returns None for pets not in question).
        """
        return await self.db.submit(self._purge(judge))

    # ----------------------------------------------------------------- sync (tools, tests)

    def get(self, pet_id: str) -> Pet | None:
        return self.db.run(self._get(pet_id))

    def list(self, **query: Any) -> Page:
        return self.db.run(self._list(**query))

    def all(self) -> builtins.list[Pet]:
        return self.db.run(self._all())

    def count(self) -> int:
        return self.db.run(self._count())

    def create(self, fields: Mapping[str, Any]) -> Pet:
        return self.db.run(self._create(fields))

    def modify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        return self.db.run(self._modify(pet_id, decide))

    def update(self, pet_id: str, patch: Mapping[str, Any]) -> Pet | None:
        change = self.modify(pet_id, lambda _pet: Patch(patch))
        return None if change is None else change.after

    def purge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        return self.db.run(self._purge(judge))

    def close(self) -> None:
        """Nothing of its own to let go: the pool belongs to the process's Database."""

    # ----------------------------------------------------------------- the work, on the database's loop

    @_store_errors
    async def _get(self, pet_id: str) -> Pet | None:
        async with reading(self.db) as conn:
            row = await (await conn.execute("SELECT doc::text FROM pets WHERE id = %s", (pet_id,))).fetchone()
        return None if row is None else json.loads(row[0])

    @_store_errors
    async def _list(
        self,
        *,
        status: str | None = None,
        species: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        where: builtins.list[str] = ["status IS DISTINCT FROM %s" if status is None else "status = %s"]
        params: builtins.list[Any] = [Status.DELETED.value if status is None else status]
        if species is not None:
            where.append("species = %s")
            params.append(species)
        if cursor:
            where.append(f"({_ORDER}) > (%s, %s, %s)")
            params.extend(sort_key(decode_cursor(cursor)))
        query = f"SELECT id, doc::text FROM pets WHERE {' AND '.join(where)} ORDER BY {_ORDER} LIMIT %s"
        async with reading(self.db) as conn:
            rows = await (await conn.execute(query.encode(), (*params, limit + 1))).fetchall()
        items = [json.loads(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None)

    @_store_errors
    async def _all(self) -> builtins.list[Pet]:
        async with reading(self.db) as conn:
            rows = await (await conn.execute(f"SELECT doc::text FROM pets ORDER BY {_ORDER}".encode())).fetchall()
        return [json.loads(doc) for (doc,) in rows]

    @_store_errors
    async def _count(self) -> int:
        async with reading(self.db) as conn:
            row = await (await conn.execute("SELECT count(*) FROM pets")).fetchone()
        return int(row[0]) if row else 0

    @_store_errors
    async def _create(self, fields: Mapping[str, Any]) -> Pet:
        if "id" in fields:
            raise ValueError("the store assigns ids; `fields` must not contain `id`")
        stamp = self.clock()
        rest: Pet = dict(fields)
        rest.update(createdAt=stamp, updatedAt=stamp)  # in place where `fields` holds them, else last
        async with writing(self.db, one_statement=True) as conn:  # one statement: the id is the sequence's
            row = await (await conn.execute(_INSERT_NEXT, (encode_doc(rest),))).fetchone()
        assert row is not None
        return {"id": row[0], **rest}

    @_store_errors
    async def _modify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        async with writing(self.db) as conn:
            row = await (
                await conn.execute("SELECT doc::text FROM pets WHERE id = %s FOR UPDATE", (pet_id,))
            ).fetchone()
            if row is None:
                return None
            change = decided(pet_id, json.loads(row[0]), decide(json.loads(row[0])), self.clock)
            if change.after is not change.before:
                await conn.execute("UPDATE pets SET doc = %s::json WHERE id = %s", (encode_doc(change.after), pet_id))
        return change

    async def _purge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        """Every pet is judged on a snapshot without locks; those to go are judged again on their rows
        locked FOR UPDATE and go only if the verdict holds on the pet as it is then (a pet restored
        in between stays). Other writers wait only for those rows, never for the whole scan."""
        judged: dict[str, tuple[Pet, V]] = {}
        for pet in await self._all():
            verdict = judge(pet)
            if verdict is not None:
                judged[pet["id"]] = (pet, verdict)
        doomed = [pet_id for pet_id, (_, verdict) in judged.items() if verdict.purge]
        if doomed:
            await self._purge_locked(judge, doomed, judged)
        return list(judged.values())  # in id order, as _all() gave them

    @_store_errors
    async def _purge_locked(
        self, judge: Callable[[Pet], V | None], doomed: builtins.list[str], judged: dict[str, tuple[Pet, V]]
    ) -> None:
        async with writing(self.db) as conn:  # locked in id order, as every purge locks them: no deadlock between two
            query = f"SELECT id, doc::text FROM pets WHERE id = ANY(%s) ORDER BY {_ORDER} FOR UPDATE"
            rows = await (await conn.execute(query.encode(), (doomed,))).fetchall()
            current = {pet_id: json.loads(doc) for pet_id, doc in rows}
            gone = []
            for pet_id in doomed:
                now = current.get(pet_id)  # None: purged by another node meanwhile
                again = None if now is None else judge(now)
                if now is None or again is None:
                    del judged[pet_id]
                    continue
                judged[pet_id] = (now, again)
                if again.purge:
                    gone.append(pet_id)
            if gone:
                await conn.execute("DELETE FROM pets WHERE id = ANY(%s)", (gone,))


_stores: dict[str, PgPetStore] = {}


def pg_store(url: str) -> PgPetStore:
    """The store for `url`, made on first use (no connection yet: the first query opens the pool)."""
    store = _stores.get(url)
    if store is None:
        store = _stores.setdefault(url, PgPetStore(url))
    return store

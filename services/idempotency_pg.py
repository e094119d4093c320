"""`Idempotency-Key`s in PostgreSQL, when DATABASE_URL is set: every node sees every key, so a
client's retry may reach any node and still gets the first answer (services/idempotency.py; the
contract is services/idempotency_contract.py).

The table is `migrations/0002_idempotency_keys.sql`; times are the database's. Runs on the
process's database loop (runtime/steprunner/db/pool.py), as the pet store does. One code path, two ways,
as for the pet store's writes (`writing`, runtime/steprunner/journal/transaction.py):

- On steprunner, an API handler and its middleware run in one transaction with the handler's store
  writes and emits (`EventBus.run_in_transaction`), and the key's row is written in it: inserted
  first, as pending, before the handler runs; its answer set (or the row deleted, for a 5xx) as the
  handler returns; committed with what the handler wrote, or rolled back with it. So a key answers
  only for a change that committed: a process that dies mid-request, or a commit that fails, leaves
  no key, and the client's retry runs the change, once (nothing of the first try is left). A second
  request with the same key meanwhile, on any node, waits in its insert (on the primary key's
  index) until the first ends: committed, it reads the answer back and replays it; rolled back, its
  insert goes through and it runs itself. Nobody ever reads a pending row written this way. The
  price: the waiting request holds a connection, and the handler's transaction begins at the key,
  not at its first store write.
- Without a handler transaction (real Motia, which runs the same middleware): the key is claimed as
  pending in a transaction of its own and settled in another, as in the SQLite table, with its
  rules (409 while pending, and after a crash).

Expired keys are deleted by a statement of their own first, never in a handler's transaction: its
locks on old keys' rows would hold up every other request with a key until it returned.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from psycopg.pq import TransactionStatus

from services.idempotency_contract import KEEP_HOURS, Seen
from steprunner.db.pool import Database, database
from steprunner.journal.transaction import joined, writing

if TYPE_CHECKING:
    from steprunner.step_types import ApiResponse

_PURGE = "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => %s)"
_CLAIM = (
    "INSERT INTO idempotency_keys (key, fingerprint, state) VALUES (%s, %s, 'pending') ON CONFLICT (key) DO NOTHING"
)
_SEEN = "SELECT fingerprint, state, response FROM idempotency_keys WHERE key = %s"


class PgKeys:
    def __init__(self, url: str) -> None:
        self.db: Database = database(url)
        self.in_transaction = False  # whether `claim` wrote the key into the running handler's transaction

    async def claim(self, key: str, fingerprint: str) -> Seen | None:
        self.in_transaction = joined(self.db) is not None
        return await self.db.submit(self._claim(key, fingerprint))

    async def settle(self, key: str, response: ApiResponse | None) -> None:
        await self.db.submit(self._settle(key, response))

    async def _claim(self, key: str, fingerprint: str) -> Seen | None:
        async with self.db.connection() as conn:
            await conn.execute(_PURGE, (KEEP_HOURS,))
        while True:
            async with writing(self.db) as conn:  # the handler's transaction, else one of its own
                if (await conn.execute(_CLAIM, (key, fingerprint))).rowcount == 1:
                    return None
                # there already (a concurrent insert was waited for); read it in this statement's snapshot
                row = await (await conn.execute(_SEEN, (key,))).fetchone()
            if row is not None:
                return Seen(row[0], row[1], json.loads(row[2]) if row[2] else None)
            # deleted in between (its request failed, or it expired): try to claim it again

    async def _settle(self, key: str, response: ApiResponse | None) -> None:
        async with writing(self.db, one_statement=True) as conn:
            if conn.info.transaction_status == TransactionStatus.INERROR:
                return  # a statement of the handler's transaction failed: it can't commit, and the key goes with it
            if response is None:
                await conn.execute("DELETE FROM idempotency_keys WHERE key = %s AND state = 'pending'", (key,))
            else:
                await conn.execute(
                    "UPDATE idempotency_keys SET state = 'done', response = %s WHERE key = %s",
                    (json.dumps(response), key),
                )

"""`Idempotency-Key`s in PostgreSQL, when DATABASE_URL is set: every node sees every key, so a
client's retry may reach any node and still gets the first answer (services/idempotency.py).

The table is `migrations/0002_idempotency_keys.sql`; times are the database's. A new key is
inserted as pending; a key already there (another node's, maybe still running) is read back.
Runs on the process's database loop (steprunner/database.py), as the pet store does.
"""

from __future__ import annotations

import json

from services.idempotency import KEEP_HOURS, Response, Seen
from steprunner.database import Database, database

_CLAIM = """
INSERT INTO idempotency_keys (key, fingerprint, state) VALUES (%s, %s, 'pending') ON CONFLICT (key) DO NOTHING
"""


class PgKeys:
    def __init__(self, url: str) -> None:
        self.db: Database = database(url)

    async def claim(self, key: str, fingerprint: str) -> Seen | None:
        return await self.db.submit(self._claim(key, fingerprint))

    async def settle(self, key: str, response: Response | None) -> None:
        await self.db.submit(self._settle(key, response))

    async def _claim(self, key: str, fingerprint: str) -> Seen | None:
        while True:
            async with self.db.transaction() as conn:
                await conn.execute("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => %s)", (KEEP_HOURS,))
                if (await conn.execute(_CLAIM, (key, fingerprint))).rowcount == 1:
                    return None
                # there already (a concurrent insert is waited for); read it in this statement's snapshot
                row = await (await conn.execute("SELECT fingerprint, state, response FROM idempotency_keys WHERE key = %s", (key,))).fetchone()
            if row is not None:
                return Seen(row[0], row[1], json.loads(row[2]) if row[2] else None)
            # forgotten in between (its request failed): try to claim it again

    async def _settle(self, key: str, response: Response | None) -> None:
        async with self.db.connection() as conn:
            if response is None:
                await conn.execute("DELETE FROM idempotency_keys WHERE key = %s AND state = 'pending'", (key,))
            else:
                await conn.execute("UPDATE idempotency_keys SET state = 'done', response = %s WHERE key = %s", (json.dumps(response), key))


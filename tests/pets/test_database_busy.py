"""With DATABASE_URL, a request that finds no database connection free in time is answered 503 with
`Retry-After`, as JSON with a `message`: "try again", not a bug (500).

A node with a tiny pool (STEPRUNNER_DATABASE_POOL_SIZE=3) whose every connection is held: reads of
the pets table wait behind a lock the test holds, each on a connection of its own. A read then
(the pet store's path: StoreBusyError) and a create with an Idempotency-Key (the key's own
statement: the runtime's path) wait the pool's timeout and get 503, and nothing is written; once
the lock goes, the node answers as ever. Handlers' transactions have their own share of the pool
(all but 2 connections): a create that finds that share held past the timeout is a 503 too.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from steprunner.testing.waiting import wait_until

POOL_SIZE = 3
TINY_POOL = {
    "STEPRUNNER_DATABASE_POOL_SIZE": str(POOL_SIZE),
    "STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS": "2",
    "STEPRUNNER_CRON_PET_RECONCILER": "0 0 1 1 *",
}  # no cron run reads the pets meanwhile


def readers_waiting(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'pets'::regclass").fetchone()
    assert row is not None
    return int(row[0])


def test_no_connection_free_in_time_is_a_503_with_retry_after(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    node = server_factory(tmp_path / "node", env={"DATABASE_URL": database_url, **TINY_POOL})
    with (  # left in reverse order: the lock goes first, so a failing test never waits for its reads
        node.client(timeout=60) as http,
        ThreadPoolExecutor(max_workers=POOL_SIZE) as pool,
        psycopg.connect(database_url) as holder,
        psycopg.connect(database_url, autocommit=True) as watcher,
    ):
        holder.execute(
            "LOCK TABLE pets IN ACCESS EXCLUSIVE MODE"
        )  # every read of the pets waits, holding its connection
        stuck = []
        for n in range(1, POOL_SIZE + 1):  # one at a time, so each has its connection before the next asks
            stuck.append(pool.submit(http.get, "/py/pets/1"))
            wait_until(
                lambda n=n: readers_waiting(watcher) == n or stuck[-1].done(),
                timeout=30,
                message=f"{n} reads holding a connection each",
            )
            assert not stuck[-1].done(), stuck[-1].result().text

        read = http.get("/py/pets")
        created = http.post(
            "/py/pets", json={"name": "Buddy", "species": "dog", "ageMonths": 24}, headers={"Idempotency-Key": "k"}
        )
        for answer in (read, created):
            assert answer.status_code == 503, f"{answer.request.method}: {answer.status_code} {answer.text}"
            assert answer.headers["retry-after"] == "1"
            assert "try again" in answer.json()["message"]
        assert "postgresql://" not in read.text + created.text, "no database address in the answer"

        holder.commit()
        assert [answer.result().status_code for answer in stuck] == [404] * POOL_SIZE, "the reads that waited go on"
    with node.client() as http:
        assert http.get("/py/pets").json()["items"] == [], "the 503 create wrote nothing"
        again = http.post(
            "/py/pets", json={"name": "Buddy", "species": "dog", "ageMonths": 24}, headers={"Idempotency-Key": "k"}
        )
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers, "nor kept its key"
    logs = node.logs()
    assert "answered 503" in logs and "handler failed" not in logs and "Pet store unavailable" not in logs, (
        "a warning, not the log of a bug"
    )


def test_no_handler_connection_free_in_time_is_a_503(server_factory: Any, database_url: str, tmp_path: Path) -> None:
    node = server_factory(
        tmp_path / "node", env={"DATABASE_URL": database_url, **TINY_POOL}
    )  # 1 connection for handlers
    with (
        node.client(timeout=60) as http,
        ThreadPoolExecutor(max_workers=1) as pool,
        psycopg.connect(database_url) as holder,
        psycopg.connect(database_url, autocommit=True) as watcher,
    ):
        holder.execute("LOCK TABLE pets IN ACCESS EXCLUSIVE MODE")
        first = pool.submit(
            http.post,
            "/py/pets",
            json={"name": "Rex", "species": "dog", "ageMonths": 3},
            headers={"Idempotency-Key": "a"},
        )
        wait_until(
            lambda: readers_waiting(watcher) == 1 or first.done(),
            timeout=30,
            message="the first create's insert waiting, in its handler transaction",
        )
        assert not first.done(), first.result().text

        second = http.post(
            "/py/pets",
            json={"name": "Buddy", "species": "dog", "ageMonths": 24},
            headers={"Idempotency-Key": "b"},
            timeout=30,
        )
        assert second.status_code == 503, f"{second.status_code} {second.text}"
        assert second.headers["retry-after"] == "1" and "try again" in second.json()["message"]

        holder.commit()
        assert first.result().status_code == 201, "the create that held the connection goes on"
    with node.client() as http:
        again = http.post(
            "/py/pets", json={"name": "Buddy", "species": "dog", "ageMonths": 24}, headers={"Idempotency-Key": "b"}
        )
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers, "the 503 kept no key"
        assert sorted(p["name"] for p in http.get("/py/pets").json()["items"]) == ["Buddy", "Rex"]

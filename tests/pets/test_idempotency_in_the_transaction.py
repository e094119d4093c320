"""With DATABASE_URL, steprunner writes an `Idempotency-Key` in the handler's transaction: the key
answers only for a change that committed.

A node killed mid-request (the test-only `STEPRUNNER_FAULT=kill:<topic>` hook, as the create emits,
after its store write) or a commit that fails (a deferred constraint trigger the test adds to the
pets table) leaves no key, so the client's retry with the same key runs the change: 201, one pet,
not a 409 for a key left pending nor the replay of a 201 for a pet that rolled back. A second
request with the key while the first runs, on another node, waits for the first and replays its
answer. (Without a database, and on real Motia, keys keep their own transactions:
tests/pets/test_idempotency.py.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import list_all

NO_RECONCILER = {"STEPRUNNER_CRON_PET_RECONCILER": "0 0 1 1 *"}  # nothing else touches the pets table meanwhile
BUDDY = {"name": "Buddy", "species": "dog", "ageMonths": 24}
KEY = {"Idempotency-Key": "intake-buddy"}

# Fails every commit of a transaction that inserted a pet: the handler runs to its end, the COMMIT refuses.
REFUSE_AT_COMMIT = """
CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON pets DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
"""


def keys(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT key, state FROM idempotency_keys ORDER BY key").fetchall()


def pet_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pets").fetchone()
    assert row is not None
    return int(row[0])


def waiting_on(conn: psycopg.Connection[Any], what: str) -> int:
    """How many sessions wait for a lock: on the pets table (`pets`) or on another transaction (`transactionid`)."""
    if what == "pets":
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'pets'::regclass").fetchone()
    else:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'").fetchone()
    assert row is not None
    return int(row[0])


def test_a_node_killed_before_its_commit_leaves_no_key_and_the_retry_on_another_node_creates_the_pet_once(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, **NO_RECONCILER}
    doomed = server_factory(tmp_path / "node-a", env={**env, "STEPRUNNER_FAULT": "kill:py.pet.created"})
    with doomed.client() as http:
        try:
            answer = http.post("/py/pets", json=BUDDY, headers=KEY)
        except httpx.TransportError:
            answer = None  # killed as the create emits: after its store write and its key, before its commit
    assert answer is None and doomed.wait_exit() != 0
    assert pet_count(database_url) == 0, "the pet rolled back with the process"
    assert keys(database_url) == [], "and so did its key: no key left pending for a change that never happened"

    survivor = server_factory(tmp_path / "node-b", env=env)
    with survivor.client() as http:
        retry = http.post("/py/pets", json=BUDDY, headers=KEY)
        assert retry.status_code == 201, f"the retry runs the create, not a 409: {retry.status_code} {retry.text}"
        assert "idempotent-replayed" not in retry.headers
        again = http.post("/py/pets", json=BUDDY, headers=KEY)
        assert (
            again.status_code == 201 and again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()
        )
        assert [p["id"] for p in list_all(http)] == [retry.json()["id"]], "one pet"
    assert keys(database_url) == [("intake-buddy", "done")]


def test_a_commit_that_fails_after_the_handler_ran_leaves_no_key_answering_for_it(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(REFUSE_AT_COMMIT)
    node = server_factory(tmp_path / "node", env={"DATABASE_URL": database_url, **NO_RECONCILER})
    with node.client() as http:
        failed = http.post("/py/pets", json=BUDDY, headers=KEY)
        assert failed.status_code == 500, failed.text
        assert "refused at commit by the test" in node.logs(), "the handler ran and answered; its commit failed"
        assert pet_count(database_url) == 0
        assert keys(database_url) == [], "no key answers 201 for the pet that rolled back"

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse_at_commit ON pets")
        retry = http.post("/py/pets", json=BUDDY, headers=KEY)
        assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers, "the retry runs the create"
        assert [p["id"] for p in list_all(http)] == [retry.json()["id"]]


def test_a_second_request_with_the_key_waits_for_the_first_on_another_node_and_replays_its_answer(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, **NO_RECONCILER}
    a, b = (server_factory(tmp_path / name, env=env, wait=False) for name in ("node-a", "node-b"))
    a.wait_ready()
    b.wait_ready()
    with (  # left in reverse order: the lock goes first, so a failing test never waits for its requests
        a.client(timeout=60) as on_a,
        b.client(timeout=60) as on_b,
        ThreadPoolExecutor(max_workers=2) as pool,
        psycopg.connect(database_url) as holder,
        psycopg.connect(database_url, autocommit=True) as watcher,
    ):
        holder.execute(
            "LOCK TABLE pets IN EXCLUSIVE MODE"
        )  # reads go on; the first create waits at its insert, key written
        first = pool.submit(on_a.post, "/py/pets", json=BUDDY, headers=KEY)
        wait_until(
            lambda: waiting_on(watcher, "pets") == 1 or first.done(),
            timeout=30,
            message="the first create to wait for the pets table",
        )
        second = pool.submit(on_b.post, "/py/pets", json=BUDDY, headers=KEY)
        wait_until(
            lambda: waiting_on(watcher, "transactionid") == 1 or second.done(),
            timeout=30,
            message="the second request to wait for the first one's transaction (or to answer)",
        )
        assert not second.done(), (
            f"it waits rather than answer while the first runs: {second.result().status_code} {second.result().text}"
        )
        holder.commit()  # the first create goes on and commits; the second reads its answer back
        one, two = first.result(), second.result()
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    assert "idempotent-replayed" not in one.headers and two.headers["idempotent-replayed"] == "true"
    assert two.json() == one.json()
    assert pet_count(database_url) == 1

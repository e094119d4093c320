"""The pet store on PostgreSQL: what it promises beyond the contract both stores keep
(test_pet_store.py), on a throwaway cluster (steprunner.testing.postgres).

Several processes on one database lose nothing and share one id sequence; documents come back as
written; the listing order of pets.json holds for ids a person made; a scan that purges leaves a
pet restored meanwhile; a database without the table, or out of reach, is a StoreError that says
what to do and never shows the password.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from services import decisions
from services.decisions import DAY_MS, intake
from services.pet_store_file import PetStore
from services.pet_store_pg import PgPetStore
from services.store import get_store
from services.store_contract import StoreError, sort_key
from tests.support.server import REPO_ROOT, free_port


def buddy(**extra) -> dict:
    return intake({"name": "Buddy", "species": "dog", "ageMonths": 24, **extra})


WORKER = textwrap.dedent(
    """
    import sys
    from services.store_contract import Patch
    from services.pet_store_pg import PgPetStore

    url, worker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = PgPetStore(url)
    for i in range(rounds):
        store.create({"name": f"w{worker}-{i}", "species": "dog", "ageMonths": 1})
        # a field only this worker writes: a lost update would show as a missing or old value
        store.update("1", {f"worker{worker}": i + 1})
        # a read-modify-write of a shared counter: a lost update would show in the total
        store.modify("1", lambda pet: Patch({"counter": pet.get("counter", 0) + 1}))
    """
)


def test_processes_on_one_database_lose_nothing_and_share_one_id_sequence(database_url: str) -> None:
    """Processes stand in for nodes: each has its own pool, the row lock and the sequence are the database's."""
    store = PgPetStore(database_url)
    store.create(buddy(counter=0))
    workers, rounds = 4, 40
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, database_url, str(w), str(rounds)], cwd=REPO_ROOT)
        for w in range(workers)
    ]
    for proc in procs:
        assert proc.wait(timeout=90) == 0

    pets = store.all()
    total = 1 + workers * rounds
    assert [p["id"] for p in pets] == [str(i) for i in range(1, total + 1)], "ids unique and contiguous"
    assert sorted(p["name"] for p in pets[1:]) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(rounds))
    first = store.get("1")
    assert first["counter"] == workers * rounds
    assert all(first[f"worker{w}"] == rounds for w in range(workers))


def test_get_store_is_postgres_with_database_url_and_pets_json_is_not_used(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", "data")
    monkeypatch.setenv("DATABASE_URL", database_url)
    store = get_store()
    assert isinstance(store, PgPetStore)
    assert store.create(buddy())["id"] == "1"
    assert not (tmp_path / "data" / "pets.json").exists()
    monkeypatch.setenv("DATABASE_URL", "")
    assert isinstance(get_store(), PetStore) and get_store().get("1") is None


def test_documents_come_back_as_written(database_url: str) -> None:
    """Same keys in the same order, non-ASCII text stored readably: what pets.json would hold."""
    store = PgPetStore(database_url)
    created = store.create(buddy(name="Çilek 🐾", profile={"bio": "ünlü", "temperamentTags": ["calm"]}))
    assert list(store.get("1")) == list(created)
    assert store.get("1") == created
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT doc::text FROM pets WHERE id = '1'").fetchone()
    assert row is not None and '"name": "Çilek 🐾"' in row[0]


def test_ids_made_by_hand_list_after_numeric_ones_as_in_pets_json(database_url: str) -> None:
    """An import (a later slice) may bring ids the sequence did not make: the order is pets.json's."""
    ids = ["10", "2", "abc", "B", "007", "1"]
    with psycopg.connect(database_url) as conn:
        for pet_id in ids:
            conn.execute(
                "INSERT INTO pets (id, doc) VALUES (%s, %s::json)", (pet_id, f'{{"id": "{pet_id}", "status": "new"}}')
            )
    store = PgPetStore(database_url)
    expected = sorted(ids, key=sort_key)
    assert expected == ["1", "2", "007", "10", "B", "abc"]
    assert [p["id"] for p in store.all()] == expected
    seen, cursor = [], None
    while True:
        page = store.list(limit=4, cursor=cursor)
        seen += [p["id"] for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_a_pet_restored_while_the_reaper_scans_is_not_purged(database_url: str) -> None:
    """The scan takes no locks: a pet to purge is judged again on its locked row before it goes."""
    store = PgPetStore(database_url, clock=lambda: 0)
    store.create(buddy())
    store.create(buddy())
    for pet_id in ("1", "2"):
        store.modify(pet_id, lambda pet: decisions.soft_delete(pet, 0))
    now = 31 * DAY_MS

    def judge(pet: dict):
        if pet["id"] == "1" and pet["status"] == "deleted":  # staff restore pet 1 from another node, mid-scan
            with psycopg.connect(database_url) as conn:
                conn.execute("""UPDATE pets SET doc = json_build_object('id', '1', 'status', 'new') WHERE id = '1'""")
        return decisions.purge_verdict(pet, now)

    judged = store.purge(judge)
    assert [p["id"] for p, verdict in judged if verdict.purge] == ["2"]
    assert [p["id"] for p in store.all()] == ["1"]


def test_async_callers_on_one_event_loop_after_another_are_served(database_url: str) -> None:
    """A CLI command or a test runs its own loop and ends it; the pool lives on, on the database's loop."""
    store = PgPetStore(database_url)

    async def create_and_get() -> dict | None:
        pet = await store.acreate(buddy())
        return await store.aget(pet["id"])

    assert asyncio.run(create_and_get())["id"] == "1"
    assert asyncio.run(create_and_get())["id"] == "2"
    assert asyncio.run(store.alist()).items[1]["id"] == "2"


def test_a_database_without_the_pets_table_says_to_run_db_migrate(empty_database_url: str) -> None:
    with pytest.raises(StoreError) as caught:
        PgPetStore(empty_database_url).get("1")
    assert "python -m steprunner db migrate" in str(caught.value)


def test_a_database_out_of_reach_is_a_store_error_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS", "1")
    url = f"postgresql://shelter:s3cret-pw@127.0.0.1:{free_port()}/pets"  # nothing listens there
    store = PgPetStore(url)
    try:
        with pytest.raises(StoreError) as caught:
            store.count()
        assert "postgresql://shelter@127.0.0.1" in str(caught.value)
        assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in caught.value.public
    finally:
        store.db.close()

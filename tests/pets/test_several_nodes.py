"""Two steprunner nodes, each with its own DATA_DIR, on one PostgreSQL database (DATABASE_URL).

What a shelter running two machines sees: ids never collide, every node lists and shows every pet,
a change made through one node is what the other shows, a node that dies leaves no pet half-done
(another node finishes the chains it had started), and a client's retry with the same
`Idempotency-Key` may reach either node. The nodes start at once, on an empty database, so both
migrate it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.pets.conftest import start_on
from tests.pets.pets_api import create, get, list_all, put, settled, wait_for

CREATES = 120


def test_two_nodes_on_one_database_share_every_pet(
    server_factory: Any, empty_database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_database_url}
    nodes = [server_factory(tmp_path / name, env=env, wait=False) for name in ("node-a", "node-b")]
    for node in nodes:
        node.wait_ready()

    def create_on(i: int) -> tuple[int, dict]:
        with nodes[i % 2].client() as http:
            return i, create(http, name=f"Pet {i}", species=("dog", "cat")[i // 2 % 2])

    with ThreadPoolExecutor(max_workers=8) as pool:  # both nodes creating at the same time
        created = dict(pool.map(create_on, range(CREATES)))

    ids = sorted((pet["id"] for pet in created.values()), key=int)
    assert ids == [str(n) for n in range(1, CREATES + 1)], "unique ids, from one sequence"
    by_id = {pet["id"]: pet for pet in created.values()}
    for node in nodes:
        with node.client() as http:
            assert [p["id"] for p in list_all(http)] == ids, f"{node.base_url} lists every pet, in id order"
            assert len(list_all(http, species="cat")) == CREATES // 2
            for pet_id in ids:
                assert get(http, pet_id)["name"] == by_id[pet_id]["name"]

    # the node that created a pet runs the events it emitted; the other node sees what they did
    made_on_a = created[0]
    with nodes[1].client() as b:
        wait_for(b, made_on_a["id"], settled, "a pet created on node A to settle, as node B sees it")
    with nodes[0].client() as a, nodes[1].client() as b:
        assert put(b, made_on_a["id"], {"name": "Renamed on B"}).status_code == 200
        assert get(a, made_on_a["id"])["name"] == "Renamed on B"

    for node in nodes:
        assert not (node.data_dir / "pets.json").exists(), "pets.json is not used with DATABASE_URL"
        assert "project 0001_pets" in node.logs() or "schema up to date" in node.logs()


def test_a_node_killed_after_its_creates_leaves_every_chain_to_the_other(
    server_factory: Any, empty_database_url: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": empty_database_url,
        "STEPRUNNER_LEASE_SECONDS": "2",
        "STEPRUNNER_POLL_SECONDS": "0.5",
        "STEPRUNNER_CRON_PET_RECONCILER": "0 0 1 1 *",
    }  # not the reconciler's rescue: the journal's takeover
    a, b = (server_factory(tmp_path / name, env=env, wait=False) for name in ("node-a", "node-b"))
    a.wait_ready()
    b.wait_ready()
    with a.client() as http:
        pets = [create(http, name=f"Pet {i}") for i in range(10)]
    a.kill()  # SIGKILL: the chains it started (its claimed events) are left mid-way
    with b.client() as http:
        for pet in pets:
            assert (
                wait_for(http, pet["id"], settled, f"{pet['name']} to settle, finished by node B", timeout=60)["name"]
                == pet["name"]
            )
        assert len(list_all(http)) == 10


def test_a_retry_with_the_same_idempotency_key_may_reach_the_other_node(
    server_factory: Any, empty_database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_database_url}
    a, b = (server_factory(tmp_path / name, env=env, wait=False) for name in ("node-a", "node-b"))
    a.wait_ready()
    b.wait_ready()
    buddy = {"name": "Buddy", "species": "dog", "ageMonths": 24}
    with a.client() as on_a, b.client() as on_b:
        first = on_a.post("/py/pets", json=buddy, headers={"Idempotency-Key": "intake-7"})
        again = on_b.post("/py/pets", json=buddy, headers={"Idempotency-Key": "intake-7"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        other = on_b.post("/py/pets", json={**buddy, "name": "Rex"}, headers={"Idempotency-Key": "intake-7"})
        assert other.status_code == 422 and "different request" in other.json()["message"]
        assert [p["name"] for p in list_all(on_a)] == ["Buddy"]


@pytest.mark.motia
def test_a_motia_node_and_a_steprunner_node_share_the_pets(
    server_factory: Any, empty_database_url: str, tmp_path: Path
) -> None:
    """The same step files on real Motia use the same store: `get_store()` reads DATABASE_URL there too."""
    env = {"DATABASE_URL": empty_database_url}
    steprunner = server_factory(tmp_path / "steprunner", env=env)  # migrates the database as it starts
    motia = start_on("motia", tmp_path / "motia", env=env)
    try:
        with steprunner.client() as a, motia.client() as b:
            on_motia = create(b, name="From Motia")
            on_steprunner = create(a, name="From steprunner")
            assert {on_motia["id"], on_steprunner["id"]} == {"1", "2"}
            assert (
                wait_for(a, on_motia["id"], settled, "the pet made on Motia to settle, seen from steprunner")["name"]
                == "From Motia"
            )
            assert [p["name"] for p in list_all(b)] == ["From Motia", "From steprunner"]
        assert not (motia.data_dir / "pets.json").exists()
    finally:
        motia.stop()

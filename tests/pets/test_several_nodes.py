"""Two steprunner nodes, each with its own DATA_DIR, on one PostgreSQL database (DATABASE_URL).

What a shelter running two machines sees: ids never collide, every node lists and shows every pet,
a change made through one node is what the other shows. The events a node emits still run on that
node (its journal is in its DATA_DIR until the journal moves to the database); their effects on a
pet are seen everywhere. The nodes start at once, on an empty database, so both migrate it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.pets.conftest import start_on
from tests.pets.pets_api import create, get, list_all, put, settled, wait_for

CREATES = 120


def test_two_nodes_on_one_database_share_every_pet(server_factory: Any, empty_database_url: str, tmp_path: Path) -> None:
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

    # a pet's events run on the node that created it; the other node sees what they did
    made_on_a = created[0]
    with nodes[1].client() as b:
        wait_for(b, made_on_a["id"], settled, "a pet created on node A to settle, as node B sees it")
    with nodes[0].client() as a, nodes[1].client() as b:
        assert put(b, made_on_a["id"], {"name": "Renamed on B"}).status_code == 200
        assert get(a, made_on_a["id"])["name"] == "Renamed on B"

    for node in nodes:
        assert not (node.data_dir / "pets.json").exists(), "pets.json is not used with DATABASE_URL"
        assert "project 0001_pets" in node.logs() or "schema up to date" in node.logs()


@pytest.mark.motia
def test_a_motia_node_and_a_steprunner_node_share_the_pets(server_factory: Any, empty_database_url: str, tmp_path: Path) -> None:
    """The same step files on real Motia use the same store: `get_store()` reads DATABASE_URL there too."""
    env = {"DATABASE_URL": empty_database_url}
    steprunner = server_factory(tmp_path / "steprunner", env=env)  # migrates the database as it starts
    motia = start_on("motia", tmp_path / "motia", env=env)
    try:
        with steprunner.client() as a, motia.client() as b:
            on_motia = create(b, name="From Motia")
            on_steprunner = create(a, name="From steprunner")
            assert {on_motia["id"], on_steprunner["id"]} == {"1", "2"}
            assert wait_for(a, on_motia["id"], settled, "the pet made on Motia to settle, seen from steprunner")["name"] == "From Motia"
            assert [p["name"] for p in list_all(b)] == ["From Motia", "From steprunner"]
        assert not (motia.data_dir / "pets.json").exists()
    finally:
        motia.stop()

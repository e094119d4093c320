"""Load, restarts and a broken data file: nothing is lost, nothing is made up.

- 200 pets created at once all get ids of their own and all finish their setup;
- a server stopped (or killed) mid-walkthrough and started again keeps every pet and
  finishes what it had been asked to do;
- a corrupt pets.json stops the server with a message naming it, and is left as it was; if
  it breaks while the server runs, requests fail loudly (500 naming the file), never with an
  empty shelter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import (
    admitted,
    create,
    get,
    list_all,
    move_to,
    request_status,
    settled,
    wait_for,
    wait_for_status,
)
from tests.support.server import Server


def test_200_pets_created_concurrently_all_settle_with_unique_ids(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client(timeout=60.0) as client:
        with ThreadPoolExecutor(max_workers=16) as pool:
            created = list(
                pool.map(
                    lambda i: create(client, f"Pet {i}", ("dog", "cat", "bird", "other")[i % 4], i % 200), range(200)
                )
            )
        ids = [pet["id"] for pet in created]
        assert len(set(ids)) == 200
        assert sorted(ids, key=int) == [str(i) for i in range(1, 201)]

        def all_settled() -> bool:
            pets = list_all(client)
            return len(pets) == 200 and all(settled(pet) for pet in pets)

        wait_until(all_settled, timeout=90, message="all 200 pets in quarantine with notes and a profile")
        names = {get(client, pet_id)["name"] for pet_id in ids}
        assert names == {f"Pet {i}" for i in range(200)}

    doc = json.loads((server.data_dir / "pets.json").read_text(encoding="utf-8"))
    assert doc["seq"] == 200 and len(doc["pets"]) == 200


def test_a_restarted_server_keeps_every_pet_and_finishes_the_walkthrough(server_factory: Callable[..., Server]) -> None:
    first = server_factory()
    with first.client() as client:
        buddy = admitted(client, "Buddy")
        whiskers = admitted(client, "Whiskers", "cat")
        move_to(client, whiskers["id"], "healthy", then="available")
    first.stop()

    second = server_factory(data_dir=first.data_dir)
    with second.client() as client:
        assert get(client, buddy["id"]) == buddy
        assert get(client, whiskers["id"])["status"] == "available"
        # A request accepted just before a crash is still carried out after the restart:
        # its event was journaled before the 202 was sent.
        assert request_status(client, buddy["id"], "healthy")["accepted"]
    second.kill()

    third = server_factory(data_dir=first.data_dir)
    with third.client() as client:
        wait_for_status(client, buddy["id"], "available")
        move_to(client, buddy["id"], "pending")
        newcomer = create(client, "Kiwi", "bird")
        assert newcomer["id"] == "3", "ids continue after a restart"
        wait_for(client, "3", settled, "the newcomer to settle")
        assert [p["id"] for p in client.get("/py/pets").json()["items"]] == ["1", "2", "3"]


def test_a_corrupt_pets_json_stops_the_server_naming_the_file(server_factory: Callable[..., Server], tmp_path) -> None:
    data_dir = tmp_path / "corrupt"
    data_dir.mkdir()
    pets_json = data_dir / "pets.json"
    content = b'{"seq": 2, "pets": {"1": {"id": "1", "name": "Buddy", '
    pets_json.write_bytes(content)

    server = server_factory(data_dir=data_dir, wait=False)
    code = server.wait_exit(timeout=30)
    assert code != 0
    logs = server.logs()
    assert str(pets_json) in logs and "is corrupt" in logs
    assert pets_json.read_bytes() == content, "the file is left exactly as it was"


def test_a_pets_json_broken_while_running_gives_500s_naming_it_never_an_empty_list(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    pets_json = server.data_dir / "pets.json"
    with server.client() as client:
        pet = admitted(client)
        good = pets_json.read_bytes()
        broken = good.replace(b'"name": "Buddy"', b'"name": Buddy', 1)
        pets_json.write_bytes(broken)
        for response in (
            client.get("/py/pets"),
            client.get(f"/py/pets/{pet['id']}"),
            client.post("/py/pets", json={"name": "Rex", "species": "dog", "ageMonths": 3}),
            client.put(f"/py/pets/{pet['id']}", json={"name": "Max"}),
            client.delete(f"/py/pets/{pet['id']}"),
        ):
            assert response.status_code == 500, response.text
            message = response.json()["message"]
            assert "pets.json is corrupt" in message and "line 4" in message
            assert str(server.data_dir) not in message, "HTTP answers never show server paths"
        assert pets_json.read_bytes() == broken
        assert str(pets_json) in server.logs(), "the log names the file"

        pets_json.write_bytes(good)  # repaired by hand: service resumes
        assert get(client, pet["id"]) == pet

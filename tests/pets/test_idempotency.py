"""`Idempotency-Key`: a client that retries (after a 500, a timeout, a dropped connection) never
makes a second pet; the same key for a different request is refused; keys survive a restart."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.pets.pets_api import admitted, store_of
from tests.support.server import Server

BUDDY = {"name": "Buddy", "species": "dog", "ageMonths": 24}
RUNTIMES = ("steprunner", "motia")  # Motia middleware: real Motia keeps the promise too


def test_the_same_key_and_body_answer_the_first_answer_again_and_create_nothing(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    with server.client() as client:
        first = client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "intake-1"})
        again = client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "intake-1"})
        other = client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "intake-2"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert other.json()["id"] != first.json()["id"]
        assert [p["id"] for p in client.get("/py/pets").json()["items"]] == [first.json()["id"], other.json()["id"]]


def test_the_same_key_with_another_body_is_a_422(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        assert client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "k"}).status_code == 201
        reused = client.post("/py/pets", json={**BUDDY, "name": "Rex"}, headers={"Idempotency-Key": "k"})
        assert reused.status_code == 422 and "different request" in reused.json()["message"]
        elsewhere = client.put("/py/pets/1", json={"name": "Rex"}, headers={"Idempotency-Key": "k"})
        assert elsewhere.status_code == 422
        assert len(client.get("/py/pets").json()["items"]) == 1


def test_concurrent_retries_with_one_key_make_one_pet(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(lambda _: client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "burst"}), range(16))
            )
        assert {a.status_code for a in answers} <= {201, 409}
        assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
        assert len(client.get("/py/pets").json()["items"]) == 1


def test_keys_survive_a_restart(server_factory: Callable[..., Server], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = server_factory(data_dir)
    with first.client() as client:
        pet = admitted(client)
        deleted = client.delete(f"/py/pets/{pet['id']}", headers={"Idempotency-Key": "del-1"})
        restored = client.post(f"/py/pets/{pet['id']}/restore", headers={"Idempotency-Key": "restore-1"})
        assert (deleted.status_code, restored.status_code) == (202, 200)
    first.stop()
    second = server_factory(data_dir)
    with second.client() as client:
        again = client.post(f"/py/pets/{pet['id']}/restore", headers={"Idempotency-Key": "restore-1"})
        assert again.status_code == 200 and again.json() == restored.json(), "not a 409: the first answer again"
        fresh = client.post(f"/py/pets/{pet['id']}/restore", headers={"Idempotency-Key": "restore-2"})
        assert fresh.status_code == 409, "a new key runs the request: the pet is not deleted any more"


def test_a_bad_key_is_a_400(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        answer = client.post("/py/pets", json=BUDDY, headers={"Idempotency-Key": "x" * 300})
        assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["message"]
    assert store_of(server.data_dir).count() == 0

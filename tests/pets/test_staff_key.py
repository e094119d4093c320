"""Staff only: with STAFF_API_KEY set, changing a pet takes `Authorization: Bearer <key>`;
reading the shelter's pets stays public. The check is Motia middleware in the step files."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.server import Server

KEY = "s3cret-staff-key"
STAFF = {"Authorization": f"Bearer {KEY}"}
BUDDY = {"name": "Buddy", "species": "dog", "ageMonths": 24}
RUNTIMES = ("steprunner", "motia")  # the check is Motia middleware: real Motia enforces it too


def test_every_change_needs_the_key_and_reads_stay_public(server_factory: Callable[..., Server]) -> None:
    server = server_factory(env={"STAFF_API_KEY": KEY})
    with server.client() as client:
        for attempt in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            refused = client.post("/py/pets", json=BUDDY, headers=attempt)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer")
        created = client.post("/py/pets", json=BUDDY, headers=STAFF)
        assert created.status_code == 201
        pet_id = created.json()["id"]

        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}).status_code == 401
        assert client.delete(f"/py/pets/{pet_id}").status_code == 401
        assert client.post(f"/py/pets/{pet_id}/restore").status_code == 401
        assert client.get(f"/py/pets/{pet_id}").json()["name"] == "Buddy", "refused changes changed nothing"
        assert client.get("/py/pets").status_code == 200

        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}, headers=STAFF).status_code == 200
        assert client.delete(f"/py/pets/{pet_id}", headers=STAFF).status_code == 202
        assert client.post(f"/py/pets/{pet_id}/restore", headers=STAFF).status_code == 200

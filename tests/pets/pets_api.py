"""Small helpers for black-box tests of /py/pets: what a curl user would do, with checks.

The helpers wait only with `wait_until` (a deadline, never a bare sleep) and fail with the
pet as it last was, so a stuck lifecycle shows where it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from services.decisions import CARE_ON_ENTRY
from services.pet_store_file import PetStore
from services.store_contract import Store
from steprunner.testing.databases import bound_url
from steprunner.testing.waiting import wait_until

Pet = dict[str, Any]


def create(
    client: httpx.Client, name: str = "Buddy", species: str = "dog", age_months: float = 24, **fields: Any
) -> Pet:
    """POST a pet; `fields` adds optional ones (weightKg, symptoms)."""
    response = client.post("/py/pets", json={"name": name, "species": species, "ageMonths": age_months, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def get(client: httpx.Client, pet_id: str) -> Pet:
    response = client.get(f"/py/pets/{pet_id}")
    assert response.status_code == 200, response.text
    return response.json()


def list_all(client: httpx.Client, **params: Any) -> list[Pet]:
    """Every pet the list shows, page after page."""
    pets: list[Pet] = []
    cursor = None
    while True:
        page = client.get("/py/pets", params={"limit": 100, **params, **({"cursor": cursor} if cursor else {})}).json()
        pets += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return pets


def timeline_of(client: httpx.Client, pet_id: str) -> list[dict[str, Any]]:
    """The pet's whole timeline, oldest first, read page by page (GET /py/pets/:id/timeline answers newest first)."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = client.get(f"/py/pets/{pet_id}/timeline", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["petId"] == pet_id and list(body) == ["petId", "items", "nextCursor"]
        items += body["items"]
        if body["nextCursor"] is None:
            return items[::-1]
        params["cursor"] = body["nextCursor"]


def wait_for(client: httpx.Client, pet_id: str, ready: Callable[[Pet], bool], what: str, timeout: float = 15.0) -> Pet:
    last: dict[str, Pet] = {}

    def check() -> Pet | None:
        pet = last["pet"] = get(client, pet_id)
        return pet if ready(pet) else None

    try:
        return wait_until(check, timeout=timeout, message=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; pet {pet_id} is now {last.get('pet')}") from None


def wait_for_status(client: httpx.Client, pet_id: str, status: str, timeout: float = 15.0) -> Pet:
    """Wait until the pet is in `status`; under_treatment and available also until the treatment
    plan / adoption posting a pet gets on entering them is written, so the pet a test holds does
    not change under it a moment later."""
    field = CARE_ON_ENTRY[status][1] if status in CARE_ON_ENTRY else None

    def there(pet: Pet) -> bool:
        return pet["status"] == status and (field is None or pet.get(field) is not None)

    return wait_for(
        client, pet_id, there, f"pet {pet_id} to be {status}" + (f" with its {field}" if field else ""), timeout
    )


def settled(pet: Pet) -> bool:
    """In quarantine with its welcome notes and a profile: everything creation sets going is done."""
    return pet["status"] == "in_quarantine" and bool(pet.get("notes")) and bool(pet.get("profile"))


def admitted(client: httpx.Client, name: str = "Buddy", species: str = "dog", **fields: Any) -> Pet:
    """A new pet, waited for until the feeding job, the orchestrator and the AI step are done."""
    pet = create(client, name, species, **fields)
    return wait_for(client, pet["id"], settled, f"{name} to settle in quarantine")


def put(client: httpx.Client, pet_id: str, body: Any) -> httpx.Response:
    return client.put(f"/py/pets/{pet_id}", json=body)


def request_status(client: httpx.Client, pet_id: str, status: str) -> dict[str, Any]:
    """PUT a status as staff do; the answer is always 202 saying what will happen."""
    response = put(client, pet_id, {"status": status})
    assert response.status_code == 202, response.text
    return response.json()


def move_to(client: httpx.Client, pet_id: str, status: str, then: str | None = None) -> Pet:
    """Request `status` and wait until the pet is in `then` (default: `status` itself)."""
    answer = request_status(client, pet_id, status)
    assert answer["accepted"], answer
    return wait_for_status(client, pet_id, then or status)


def store_of(data_dir: Path) -> Store:
    """The server's own store, opened from the test: the cross-process lock (or PostgreSQL's
    transactions, for a folder bound to a database) makes this safe."""
    url = bound_url(data_dir)
    if url is not None:
        from services.pet_store_pg import pg_store  # psycopg: imported only in database mode

        return pg_store(url)
    return PetStore(Path(data_dir) / "pets.json")


def console_has(logs: str, line: str) -> bool:
    """Whether the server printed a spec console line such as `🐾 Pet created {"petId": "1", ...}`.

    steprunner prints it as written; Motia prints the message, then one field a line
    (`├ petId: 1`), so there the message and each complete field are looked for.
    """
    if line in logs:
        return True
    message, _, fields = line.partition(" {")
    pairs = re.findall(r'"(\w+)": ("[^"]*"|true|false|-?\d+)', fields)
    return message in logs and all(f"{key}: {value.strip(chr(34))}" in logs for key, value in pairs)


def errors_of(response: httpx.Response) -> dict[str, str]:
    """A 400's errors by field (it must be the service's "Invalid payload" answer)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "Invalid payload"
    return {e["field"]: e["error"] for e in body["errors"]}

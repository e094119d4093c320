"""What a client that sends something wrong is told: 400 naming each bad field and why, 404
for unknown pets, 409 for a deleted one; and reads (one pet, pages, filters) over HTTP.

One server serves the whole module: these requests don't depend on each other's pets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import admitted, create, errors_of, get, put, request_status
from tests.support.server import Server

RUNTIMES = ("steprunner", "motia")  # every answer here is the same on real Motia, except where named


GOOD = {"name": "Buddy", "species": "dog", "ageMonths": 24}


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"species": "dog", "ageMonths": 24}, "name", "is required"),
        ({**GOOD, "name": ""}, "name", "must not be empty"),
        ({**GOOD, "name": "   "}, "name", "must not be empty"),
        ({**GOOD, "name": 42}, "name", "valid string"),
        ({**GOOD, "name": "x" * 101}, "name", "at most 100 characters"),
        ({"name": "Buddy", "ageMonths": 24}, "species", "is required"),
        ({**GOOD, "species": "dragon"}, "species", "'dog', 'cat', 'bird' or 'other'"),
        ({**GOOD, "species": "Dog"}, "species", "'dog', 'cat', 'bird' or 'other'"),
        ({"name": "Buddy", "species": "dog"}, "ageMonths", "is required"),
        ({**GOOD, "ageMonths": -1}, "ageMonths", "greater than or equal to 0"),
        ({**GOOD, "ageMonths": 1201}, "ageMonths", "less than or equal to 1200"),
        ({**GOOD, "ageMonths": "24"}, "ageMonths", "valid number"),
        ({**GOOD, "ageMonths": True}, "ageMonths", "not true/false"),
        ({**GOOD, "ageMonths": None}, "ageMonths", "valid number"),
        ({**GOOD, "status": "available"}, "status", "unknown field"),
        ({**GOOD, "id": "7"}, "id", "unknown field"),
    ],
)
def test_create_names_the_bad_field_and_why(client: httpx.Client, body: dict[str, Any], field: str, why: str) -> None:
    errors = errors_of(client.post("/py/pets", json=body))
    assert field in errors, errors
    assert why in errors[field]


def test_create_reports_every_bad_field_at_once(client: httpx.Client) -> None:
    errors = errors_of(client.post("/py/pets", json={"name": "", "species": "cow", "ageMonths": "old"}))
    assert set(errors) == {"name", "species", "ageMonths"}


@pytest.mark.parametrize("body", [[GOOD], "Buddy", 24, None])
def test_create_needs_a_json_object(client: httpx.Client, body: Any, runtime: str) -> None:
    content = b"" if body is None else httpx.Request("POST", "/", json=body).content
    response = client.post("/py/pets", content=content, headers={"content-type": "application/json"})
    if runtime == "motia" and body is None:  # Motia difference: an empty body reaches the step as {}
        assert set(errors_of(response)) == {"name", "species", "ageMonths"}
    elif runtime == "motia" and isinstance(
        body, (str, int)
    ):  # Motia difference: Express refuses a bare JSON scalar itself (HTML 400)
        assert response.status_code == 400 and "SyntaxError" in response.text
    else:
        assert errors_of(response) == {"body": "must be a JSON object"}


def test_malformed_json_is_a_400_with_a_message(client: httpx.Client, runtime: str) -> None:
    response = client.post("/py/pets", content=b'{"name": "Buddy",', headers={"content-type": "application/json"})
    assert response.status_code == 400
    if runtime == "motia":  # Motia difference: Express answers before any step runs, with its HTML error page
        assert "SyntaxError" in response.text
        return
    assert "not valid JSON" in response.json()["message"]


def test_nothing_is_stored_for_a_rejected_create(client: httpx.Client) -> None:
    before = client.get("/py/pets", params={"limit": 100}).json()["items"]
    client.post("/py/pets", json={"name": ""})
    assert client.get("/py/pets", params={"limit": 100}).json()["items"] == before


def test_unknown_ids_are_404_not_found(client: httpx.Client) -> None:
    for response in (
        client.get("/py/pets/999999"),
        client.put("/py/pets/999999", json={"name": "Ghost"}),
        client.put("/py/pets/999999", json={"status": "healthy"}),
        client.delete("/py/pets/999999"),
        client.post("/py/pets/999999/restore"),
    ):
        assert response.status_code == 404, response.request
        assert response.json() == {"message": "Not found"}


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"status": "flying"}, "status", "'new', 'in_quarantine'"),
        ({"status": "deleted"}, "status", "use DELETE /py/pets/:id"),
        ({"status": None}, "status", "can't be null"),
        ({"name": None}, "name", "can't be null"),
        ({"name": "  "}, "name", "must not be empty"),
        ({"species": "cow"}, "species", "'dog', 'cat', 'bird' or 'other'"),
        ({"ageMonths": "two"}, "ageMonths", "valid number"),
        ({"notes": "hello"}, "notes", "unknown field"),
        ({"createdAt": 0}, "createdAt", "unknown field"),
        ({}, "body", "at least one of name, species, ageMonths, weightKg, symptoms, flags, status"),
        ([{"status": "healthy"}], "body", "must be a JSON object"),
    ],
)
def test_update_names_the_bad_field_and_why(client: httpx.Client, body: Any, field: str, why: str) -> None:
    pet = admitted(client)
    errors = errors_of(put(client, pet["id"], body))
    assert field in errors, errors
    assert why in errors[field]
    assert get(client, pet["id"]) == pet, "a refused update changes nothing"


def test_update_applies_details_at_once(client: httpx.Client) -> None:
    pet = admitted(client, "Max")
    response = put(client, pet["id"], {"name": "  Maximus ", "ageMonths": 30})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["ageMonths"], updated["status"]) == ("Maximus", 30, "in_quarantine")
    assert updated["updatedAt"] >= pet["updatedAt"]
    assert get(client, pet["id"]) == updated


def test_update_with_details_and_a_status_applies_the_details_and_requests_the_status(client: httpx.Client) -> None:
    pet = admitted(client, "Kiwi", "bird")
    response = put(client, pet["id"], {"ageMonths": 7, "status": "adopted"})
    assert response.status_code == 202
    answer = response.json()
    assert (
        answer["accepted"] is False
        and answer["reason"] == "Invalid transition: cannot change from in_quarantine to adopted"
    )
    assert answer["pet"]["ageMonths"] == 7
    assert get(client, pet["id"])["ageMonths"] == 7


def test_a_status_request_is_answered_202_and_never_written_by_the_put(client: httpx.Client) -> None:
    pet = admitted(client, "Nemo", "other")
    answer = request_status(client, pet["id"], "healthy")
    assert answer["message"] == "Status change requested"
    assert (answer["petId"], answer["currentStatus"], answer["requestedStatus"], answer["accepted"]) == (
        pet["id"],
        "in_quarantine",
        "healthy",
        True,
    )
    assert answer["pet"]["status"] == "in_quarantine", "the PUT itself leaves status to the orchestrator"


# ------------------------------------------------------------------ reads


def test_list_pages_through_every_pet_once_and_filters(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        for i in range(25):
            create(client, f"Pet {i + 1}", "cat" if i % 5 == 0 else "dog")
        # Every creation settles in quarantine (deleted pets aside, nothing else changes status).
        wait_until(
            lambda: len(client.get("/py/pets", params={"status": "in_quarantine", "limit": 100}).json()["items"]) == 25,
            message="all 25 pets in quarantine",
        )
        client.delete("/py/pets/3")

        first = client.get("/py/pets")
        assert first.status_code == 200
        page = first.json()
        assert len(page["items"]) == 20, "default page size"
        ids = [p["id"] for p in page["items"]]
        while page["nextCursor"]:
            page = client.get("/py/pets", params={"cursor": page["nextCursor"]}).json()
            ids += [p["id"] for p in page["items"]]
        assert ids == [str(i) for i in range(1, 26) if i != 3], "id order, each once, deleted left out"

        cats = client.get("/py/pets", params={"species": "cat"}).json()
        assert [p["id"] for p in cats["items"]] == ["1", "6", "11", "16", "21"] and cats["nextCursor"] is None
        deleted = client.get("/py/pets", params={"status": "deleted"}).json()["items"]
        assert [p["id"] for p in deleted] == ["3"]
        small = client.get("/py/pets", params={"species": "dog", "status": "in_quarantine", "limit": 2}).json()
        assert [p["id"] for p in small["items"]] == ["2", "4"] and small["nextCursor"]
        assert client.get("/py/pets", params={"status": "adopted"}).json() == {"items": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "sleeping"}, "status"),
        ({"species": "fish"}, "species"),
        ({"cursor": "nonsense!"}, "cursor"),
        ({"colour": "brown"}, "colour"),
        ([("status", "new"), ("status", "ill")], "status"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_them(client: httpx.Client, params: Any, field: str) -> None:
    response = client.get("/py/pets", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "Invalid query"
    assert field in {e["field"] for e in body["errors"]}

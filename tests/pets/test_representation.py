"""One pet representation in every answer (docs/api.md#the-pet): create, get, the list, an update, a status
request's 202, a deleted pet and a restore all show the documented model `services.models.Pet`, every field
present (null or empty where not set), in the same order, and nothing else: no bookkeeping such as
`lastStatusRequestId`, whatever the pet has been through. Checked against the model and against the schema the
OpenAPI document (/docs) gives for it.
"""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs

from services.models import Pet as PetModel
from steprunner.loader import load_steps
from steprunner.web.openapi import openapi_document
from tests.pets.pets_api import Pet, admitted, create, get, put, wait_for, wait_for_status
from tests.support.server import REPO_ROOT

RUNTIMES = ("steprunner", "motia")
FIELDS = list(PetModel.model_fields)
DOCUMENT = openapi_document(load_steps(REPO_ROOT), REPO_ROOT)
# The OpenAPI document's `Pet`, its refs resolved inside the document.
DOCUMENTED = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/Pet", **DOCUMENT})


def documented(pet: Any, where: str) -> Pet:
    """The pet, checked: exactly the model's fields in its order, valid for the model and for /docs' schema."""
    assert isinstance(pet, dict), f"{where}: {pet!r}"
    assert list(pet) == FIELDS, f"{where}: extra {set(pet) - set(FIELDS)}, missing {set(FIELDS) - set(pet)}"
    PetModel.model_validate(pet)
    errors = [error.message for error in DOCUMENTED.iter_errors(pet)]
    assert not errors, f"{where}: {errors}"
    return pet


def listed(client: httpx.Client, pet_id: str, **query: str) -> Pet:
    page = client.get("/py/pets", params={"limit": 100, **query})
    assert page.status_code == 200, page.text
    for item in page.json()["items"]:
        documented(item, f"list {query}")
    return next(item for item in page.json()["items"] if item["id"] == pet_id)


def test_every_route_answers_the_documented_pet_with_the_same_fields(client: httpx.Client) -> None:
    created = documented(create(client, "Pip", "bird", 8), "POST")
    assert (created["pendingStatusRequest"], created["statusBeforeDelete"], created["reviews"]) == (None, None, [])
    pet_id = created["id"]
    documented(get(client, pet_id), "GET")
    pet = wait_for(client, pet_id, lambda p: p["status"] == "in_quarantine" and bool(p["profile"]), "quarantine")
    documented(pet, "GET in quarantine")

    edited = put(client, pet_id, {"weightKg": 0.5})
    assert edited.status_code == 200, edited.text
    documented(edited.json(), "PUT fields")

    asked = put(client, pet_id, {"status": "healthy"})
    assert asked.status_code == 202, asked.text
    waiting = documented(asked.json()["pet"], "PUT status (202)")
    assert waiting["pendingStatusRequest"]["requestId"] == asked.json()["requestId"], (
        "the request is on the pet until the orchestrator settles it"
    )
    available = documented(wait_for_status(client, pet_id, "available"), "GET once settled")
    assert available["pendingStatusRequest"] is None, "settled: nothing pending"
    documented(listed(client, pet_id, status="available", species="bird"), "list")

    deleted = client.delete(f"/py/pets/{pet_id}")
    assert deleted.status_code == 202, deleted.text
    assert set(deleted.json()) == {"message", "petId", "purgeAt"}, "the spec's answer"
    gone = documented(get(client, pet_id), "GET deleted")
    assert (gone["status"], gone["statusBeforeDelete"]) == ("deleted", "available")
    assert listed(client, pet_id, status="deleted") == gone

    restored = client.post(f"/py/pets/{pet_id}/restore")
    assert restored.status_code == 200, restored.text
    back = documented(restored.json(), "restore")
    assert (back["status"], back["statusBeforeDelete"], back["deletedAt"]) == ("available", None, None)


def test_a_pet_that_went_through_a_rejected_request_and_a_review_shows_the_same_fields(client: httpx.Client) -> None:
    pet = admitted(client, "Tux", "cat")
    ruled_out = put(client, pet["id"], {"status": "adopted"})
    assert ruled_out.status_code == 202 and ruled_out.json()["accepted"] is False, ruled_out.text
    documented(ruled_out.json()["pet"], "PUT status ruled out")
    review = client.post(f"/py/pets/{pet['id']}/health-review")
    assert review.status_code == 202, review.text
    reviewed = wait_for(client, pet["id"], lambda p: bool(p["reviews"]), "the health review's decision")
    documented(reviewed, "GET reviewed")
    documented(wait_for(client, pet["id"], lambda p: p["status"] == "available", "available"), "GET available")

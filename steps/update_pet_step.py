"""PUT /py/pets/:id: staff change a pet's details, or ask for a status change.

`name`, `species` and `ageMonths` are written at once (200 with the pet). `status` is never
written here: the lifecycle orchestrator owns it (DECISIONS.md #3). A status request answers
202 saying what will happen: the request is passed on as `py.pet.status.update.requested`
(`accepted: true`); or the transition table already rules it out (`accepted: false` and
the reason, logged and emitted as a rejection, nothing passed on); or the pet already has
that status (`accepted: true`, nothing to do). A soft-deleted pet can't be changed (409)
until it is restored.
"""

import uuid
from typing import Any

from pydantic import ValidationError

from services.lifecycle import check, is_noop
from services.models import ErrorBody, Pet, StatusRequestAnswer, UpdatePet, invalid_payload, schema, store_failure
from services.pet_store import DELETED, StoreError, get_store

config = {
    "type": "api",
    "name": "UpdatePet",
    "description": "Update a pet's details; a status change is requested from the lifecycle orchestrator (202)",
    "path": "/py/pets/:id",
    "method": "PUT",
    "emits": [
        {"topic": "py.pet.status.update.requested", "label": "Staff status request", "conditional": True},
        {"topic": "py.lifecycle.transition.rejected", "label": "Ruled out by the table", "conditional": True},
    ],
    "virtualSubscribes": ["py.staff.pet.update"],
    "bodySchema": schema(UpdatePet),
    "responseSchema": {
        "200": schema(Pet),
        "202": schema(StatusRequestAnswer),
        "400": schema(ErrorBody),
        "404": schema(ErrorBody),
        "409": schema(ErrorBody),
        "500": schema(ErrorBody),
    },
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


class _PetIsDeleted(Exception):
    pass


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        payload = UpdatePet.model_validate(req.get("body"))
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc)}
    pet_id = req["pathParams"]["id"]
    changes = payload.field_changes()

    def decide(pet: dict[str, Any]) -> dict[str, Any] | None:
        # Checked under the store's lock, so a DELETE racing this PUT can't be overwritten.
        if pet.get("status") == DELETED:
            raise _PetIsDeleted
        return changes or None

    try:
        change = get_store().modify(pet_id, decide)
    except _PetIsDeleted:
        return {
            "status": 409,
            "body": {"message": f"Pet {pet_id} is deleted: restore it with POST /py/pets/{pet_id}/restore before changing it"},
        }
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)
    if change is None:
        return {"status": 404, "body": {"message": "Not found"}}

    pet = change.after
    if change.changed:
        context.logger.info("✏️ Pet details updated", {"petId": pet_id, "fields": sorted(changes)})
    if payload.status is None:
        return {"status": 200, "body": pet}
    return await _request_status(pet, payload.status.value, context)


async def _request_status(pet: dict[str, Any], requested: str, context: Any) -> dict[str, Any]:
    pet_id, current = pet["id"], pet["status"]
    context.logger.info(
        "👤 Staff requesting status change", {"petId": pet_id, "currentStatus": current, "requestedStatus": requested}
    )
    answer = {"petId": pet_id, "currentStatus": current, "requestedStatus": requested, "pet": pet}

    if is_noop(current, requested):
        message = f"Pet is already {current}: nothing to change"
        context.logger.info("⏭️ Status unchanged", {"petId": pet_id, "status": current})
        return {"status": 202, "body": {"message": message, **answer, "accepted": True}}

    allowed, reason = check(current, requested)
    if not allowed:
        rejection = {"petId": pet_id, "currentStatus": current, "requestedStatus": requested, "reason": reason}
        context.logger.warn("⚠️ Transition rejected", rejection)
        await context.emit({"topic": "py.lifecycle.transition.rejected", "data": {**rejection, "automatic": False}})
        return {"status": 202, "body": {"message": "Status change rejected", **answer, "accepted": False, "reason": reason}}

    request_id = uuid.uuid4().hex
    await context.emit(
        {
            "topic": "py.pet.status.update.requested",
            "data": {
                "petId": pet_id,
                "requestedStatus": requested,
                "currentStatus": current,
                "automatic": False,
                "requestId": request_id,
            },
        }
    )
    return {
        "status": 202,
        "body": {"message": "Status change requested", **answer, "accepted": True, "requestId": request_id},
    }

"""POST /py/pets/:id/restore: undo a soft delete within its 30-day window.

The pet goes back to the status it had before the delete. Anything the lifecycle skipped
while it was deleted is set going again: a `new` pet gets its feeding reminder queued again
(the job is idempotent), and a pet in a status that moves on by itself (healthy, ill,
recovered) gets that automatic progression requested. 409 when the pet is not deleted or its
purge time has passed.
"""

from typing import Any

from services.lifecycle import automatic_request
from services.models import ErrorBody, Pet, schema, store_failure
from services.pet_store import RestoreRefused, StoreError, get_store, now_ms

config = {
    "type": "api",
    "name": "RestorePet",
    "description": "Restore a soft-deleted pet within its 30-day window, back to its previous status",
    "path": "/py/pets/:id/restore",
    "method": "POST",
    "emits": [
        {"topic": "py.feeding.reminder.enqueued", "label": "Feeding reminder queued again", "conditional": True},
        {"topic": "py.pet.status.update.requested", "label": "Automatic progression resumed", "conditional": True},
    ],
    "virtualSubscribes": ["py.staff.pet.restore"],
    "responseSchema": {"200": schema(Pet), "404": schema(ErrorBody), "409": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    pet_id = req["pathParams"]["id"]
    try:
        change = get_store().restore(pet_id)
    except RestoreRefused as exc:
        return {"status": 409, "body": {"message": str(exc)}}
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)
    if change is None:
        return {"status": 404, "body": {"message": "Not found"}}

    pet = change.after
    status = pet["status"]
    context.logger.info("♻️ Pet restored", {"petId": pet_id, "name": pet["name"], "status": status})
    if status == "new":
        await context.emit({"topic": "py.feeding.reminder.enqueued", "data": {"petId": pet_id, "enqueuedAt": now_ms()}})
    follow_up = automatic_request(pet_id, status)
    if follow_up is not None:
        await context.emit({"topic": "py.pet.status.update.requested", "data": follow_up})
    return {"status": 200, "body": pet}

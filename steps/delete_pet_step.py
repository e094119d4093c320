"""DELETE /py/pets/:id: soft delete. The pet stays 30 days (restorable), then the reaper purges it.

Answers 202 `{"message": "Pet scheduled for deletion", "petId", "purgeAt"}`, as the spec
shows. Deleting an already deleted pet answers the same and keeps the original purge time.
"""

from typing import Any

from services.models import ErrorBody, SoftDeleted, schema, store_failure
from services.pet_store import StoreError, get_store, iso_time

config = {
    "type": "api",
    "name": "DeletePet",
    "description": "Soft delete a pet: status deleted, purged by the reaper after 30 days",
    "path": "/py/pets/:id",
    "method": "DELETE",
    "emits": [{"topic": "py.pet.soft.deleted", "label": "Pet soft deleted", "conditional": True}],
    "virtualSubscribes": ["py.staff.pet.delete"],
    "responseSchema": {"202": schema(SoftDeleted), "404": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    pet_id = req["pathParams"]["id"]
    try:
        change = get_store().soft_delete(pet_id)
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)
    if change is None:
        return {"status": 404, "body": {"message": "Not found"}}

    pet = change.after
    if change.changed:
        context.logger.info(
            "🗑️ Pet soft deleted",
            {"petId": pet_id, "name": pet["name"], "deletedAt": iso_time(pet["deletedAt"]), "purgeAt": iso_time(pet["purgeAt"])},
        )
        await context.emit(
            {
                "topic": "py.pet.soft.deleted",
                "data": {
                    "petId": pet_id,
                    "name": pet["name"],
                    "previousStatus": pet.get("statusBeforeDelete"),
                    "deletedAt": pet["deletedAt"],
                    "purgeAt": pet["purgeAt"],
                },
            }
        )
    return {"status": 202, "body": {"message": "Pet scheduled for deletion", "petId": pet_id, "purgeAt": pet["purgeAt"]}}

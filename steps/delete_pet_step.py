"""DELETE /py/pets/:id: soft delete. The pet stays 30 days (restorable), then the reaper purges it.

Answers 202 `{"message": "Pet scheduled for deletion", "petId", "purgeAt"}`, as the spec
shows. Deleting an already deleted pet answers the same and keeps the original purge time.
The delete is told on the pet's timeline (once: deleting again tells nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import decisions, timeline
from services.clock import iso_time, now_ms
from services.decisions import FollowUp
from services.idempotency import idempotent
from services.models import ErrorBody, SoftDeleted, schema
from services.responses import answers_store_errors, emit_follow_ups, modify_pet
from services.staff_auth import require_staff
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "DeletePet",
    "description": "Soft delete a pet: status deleted, purged by the reaper after 30 days",
    "path": "/py/pets/:id",
    "method": "DELETE",
    "emits": [{"topic": "py.pet.soft.deleted", "label": "Pet soft deleted", "conditional": True}],
    "virtualSubscribes": ["py.staff.pet.delete"],
    "responseSchema": {"202": schema(SoftDeleted), "404": schema(ErrorBody), "500": schema(ErrorBody)},
    "middleware": [require_staff, idempotent("DeletePet")],
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    pet_id = req["pathParams"]["id"]
    now = now_ms()
    change = await modify_pet(
        get_store(), pet_id, timeline.recording(lambda pet: decisions.soft_delete(pet, now), timeline.told_deleted)
    )

    pet = change.after
    if change.decision.applied:
        context.logger.info(
            "🗑️ Pet soft deleted",
            {
                "petId": pet_id,
                "name": pet["name"],
                "deletedAt": iso_time(pet["deletedAt"]),
                "purgeAt": iso_time(pet["purgeAt"]),
            },
        )
        await timeline.publish(context, pet, since=change.before)
        deleted = {
            "petId": pet_id,
            "name": pet["name"],
            "previousStatus": pet.get("statusBeforeDelete"),
            "deletedAt": pet["deletedAt"],
            "purgeAt": pet["purgeAt"],
        }
        await emit_follow_ups(context, [FollowUp("py.pet.soft.deleted", deleted)])
    return {
        "status": 202,
        "body": {"message": "Pet scheduled for deletion", "petId": pet_id, "purgeAt": pet["purgeAt"]},
    }

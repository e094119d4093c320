"""POST /py/pets/:id/restore: undo a soft delete within its 30-day window.

The pet goes back to the status it had before the delete, and the chain resumes whatever it is
owed (`decisions.missing_follow_ups`): a `new` pet's feeding reminder, a missing profile (say,
the pet was deleted while its AI call ran), an automatic progression (healthy, ill, recovered).
409 when the pet is not deleted or its purge time has passed. The restore is told on the pet's timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import decisions, timeline
from services.clock import now_ms
from services.decisions import Outcome
from services.idempotency import idempotent
from services.models import ErrorBody, Pet, schema
from services.responses import answers_store_errors, emit_follow_ups, modify_pet, shown
from services.staff_auth import require_staff
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "RestorePet",
    "description": "Restore a soft-deleted pet within its 30-day window, back to its previous status",
    "path": "/py/pets/:id/restore",
    "method": "POST",
    "emits": [
        {"topic": "py.feeding.reminder.enqueued", "label": "Feeding reminder queued again", "conditional": True},
        {"topic": "py.ai.profile.enrichment.requested", "label": "Missing profile requested", "conditional": True},
        {"topic": "py.pet.status.update.requested", "label": "Automatic progression resumed", "conditional": True},
        {"topic": "py.treatment.required", "label": "Missing treatment plan requested", "conditional": True},
        {"topic": "py.adoption.posting.requested", "label": "Missing adoption posting requested", "conditional": True},
    ],
    "virtualSubscribes": ["py.staff.pet.restore"],
    "responseSchema": {
        "200": schema(Pet),
        "404": schema(ErrorBody),
        "409": schema(ErrorBody),
        "500": schema(ErrorBody),
    },
    "middleware": [require_staff, idempotent("RestorePet")],
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    pet_id = req["pathParams"]["id"]
    now = now_ms()
    change = await modify_pet(
        get_store(), pet_id, timeline.recording(lambda pet: decisions.restore(pet, now), timeline.told_restored)
    )
    if change.decision.outcome is Outcome.REJECT:
        return {"status": 409, "body": {"message": change.decision.reason}}

    pet = change.after
    context.logger.info("♻️ Pet restored", {"petId": pet_id, "name": pet["name"], "status": pet["status"]})
    await timeline.publish(context, pet, since=change.before)
    await emit_follow_ups(context, change.decision.follow_ups)
    return {"status": 200, "body": shown(pet)}

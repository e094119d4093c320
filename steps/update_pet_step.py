"""PUT /py/pets/:id: staff change a pet's details, or ask for a status change.

`name`, `species`, `ageMonths`, `weightKg`, `symptoms` and `flags` are written at once (200 with
the pet); `flags` only takes known flags, and clearing `needs_data` lets a healthy pet move on to
available by itself (docs/decisions.md#17). `status` is never
written here: the lifecycle orchestrator owns it (docs/decisions.md#3). A status request answers
202 saying what will happen (`decisions.staff_update`): the request is passed on as
`py.pet.status.update.requested` (`accepted: true`); or the transition table already rules it out
(`accepted: false` and the reason, logged and emitted as a rejection, nothing passed on); or the
pet already has that status (`accepted: true`, nothing to do). A soft-deleted pet can't be changed
(409) until it is restored. A request ruled out here is told on the pet's timeline (the orchestrator
tells the rest when it acts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from services import decisions, timeline, topics
from services.clock import now_ms
from services.decisions import FollowUp, Outcome
from services.idempotency import idempotent
from services.models import ErrorBody, Pet, StatusRequestAnswer, UpdatePet, schema
from services.responses import answers_store_errors, emit_follow_ups, modify_pet, shown
from services.staff_auth import require_staff
from services.store import get_store
from services.validation import invalid_payload

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

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
    "middleware": [require_staff, idempotent("UpdatePet")],
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    try:
        payload = UpdatePet.model_validate(req.get("body"))
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc)}
    pet_id = req["pathParams"]["id"]
    changes = payload.field_changes()
    requested = payload.status.value if payload.status else None

    # Decided under the store's lock, so a DELETE racing this PUT can't be overwritten.
    now = now_ms()
    update = timeline.recording(
        lambda pet: decisions.staff_update(pet, changes, requested, now), timeline.told_staff_update(requested)
    )
    change = await modify_pet(get_store(), pet_id, update)
    decision = change.decision
    if decision.kind in ("deleted", "flag_blocks"):
        return {"status": 409, "body": {"message": decision.reason}}

    await timeline.publish(context, change.after, since=change.before)
    pet = shown(change.after)
    if any(change.before.get(k) != pet.get(k) for k in changes):
        context.logger.info("✏️ Pet details updated", {"petId": pet_id, "fields": sorted(changes)})
    if requested is None:
        await emit_follow_ups(context, decision.follow_ups)  # flags cleared: the progression they held
        return {"status": 200, "body": pet}

    current = change.before["status"]
    context.logger.info(
        "👤 Staff requesting status change", {"petId": pet_id, "currentStatus": current, "requestedStatus": requested}
    )
    answer = {"petId": pet_id, "currentStatus": current, "requestedStatus": requested, "pet": pet}
    if decision.outcome is Outcome.SKIP:
        context.logger.info("⏭️ Status unchanged", {"petId": pet_id, "status": current})
        return {"status": 202, "body": {"message": decision.reason, **answer, "accepted": True}}
    if decision.outcome is Outcome.REJECT:
        rejection = {"petId": pet_id, "currentStatus": current, "requestedStatus": requested, "reason": decision.reason}
        context.logger.warn("⚠️ Transition rejected", rejection)
        await emit_follow_ups(context, [FollowUp(topics.TRANSITION_REJECTED, {**rejection, "automatic": False})])
        return {
            "status": 202,
            "body": {"message": "Status change rejected", **answer, "accepted": False, "reason": decision.reason},
        }

    # Recorded on the pet with the edits: if queueing it fails now, the reconciler queues it again.
    await emit_follow_ups(context, decision.follow_ups)
    request_id = decision.follow_ups[0].data["requestId"]
    return {
        "status": 202,
        "body": {"message": "Status change requested", **answer, "accepted": True, "requestId": request_id},
    }

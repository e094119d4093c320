"""POST /py/pets: take a new pet in. Answers 201 with the pet (status `new`) at once.

The slow parts happen after the answer, in event steps: the feeding reminder job (which then
moves the pet to quarantine through the orchestrator) and the AI profile enrichment. If queueing
them fails, the pet still exists and the answer says so; the reconciler queues them again.
The pet's timeline starts here: its "created" item is written with the pet, then published.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import ValidationError

from services import timeline, topics
from services.clock import now_ms
from services.decisions import FollowUp, feeding_follow_up, intake
from services.idempotency import idempotent
from services.models import CreatePet, ErrorBody, Pet, PetCreated, schema
from services.responses import answers_store_errors, emit_follow_ups, shown
from services.staff_auth import require_staff
from services.store import get_store
from services.validation import invalid_payload

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "CreatePet",
    "description": "Create a pet (status new); queues the feeding reminder and the AI profile",
    "path": "/py/pets",
    "method": "POST",
    "emits": [
        {"topic": "py.pet.created", "label": "Pet created"},
        {"topic": "py.feeding.reminder.enqueued", "label": "Feeding reminder queued"},
    ],
    "virtualSubscribes": ["py.staff.pet.intake"],
    "bodySchema": schema(CreatePet),
    "responseSchema": {"201": schema(Pet), "400": schema(ErrorBody), "500": schema(ErrorBody)},
    "middleware": [require_staff, idempotent("CreatePet")],
    "flows": ["pets"],
}

# The service's front door opens and checks pets.json while it loads: a corrupt or unreadable
# file stops start-up with a message naming it (the other steps open it on first use).
get_store()


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    try:
        payload = CreatePet.model_validate(req.get("body"))
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc)}
    now = now_ms()
    pet = await get_store().acreate(timeline.admitted(intake(payload.model_dump(mode="json")), now))

    pet_id = pet["id"]
    context.logger.info(
        "🐾 Pet created", {"petId": pet_id, "name": pet["name"], "species": pet["species"], "status": pet["status"]}
    )
    created = PetCreated(petId=pet_id, name=pet["name"], species=pet["species"], ageMonths=pet["ageMonths"])
    follow_ups = [FollowUp(topics.PET_CREATED, created.model_dump(mode="json")), feeding_follow_up(pet_id, now)]
    # Side by side: the item's stream write and the events share the journal's commits.
    await asyncio.gather(timeline.publish(context, pet), emit_follow_ups(context, follow_ups))
    return {"status": 201, "body": shown(pet)}

"""POST /py/pets: take a new pet in. Answers 201 with the pet (status `new`) at once.

The slow parts happen after the answer, in event steps: the feeding reminder job (which then
moves the pet to quarantine through the orchestrator) and the AI profile enrichment.
"""

from typing import Any

from pydantic import ValidationError

from services.models import CreatePet, ErrorBody, Pet, invalid_payload, schema, store_failure
from services.pet_store import StoreError, get_store, now_ms

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
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        payload = CreatePet.model_validate(req.get("body"))
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc)}
    try:
        pet = get_store().create(payload.model_dump(mode="json"))
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)

    pet_id = pet["id"]
    context.logger.info(
        "🐾 Pet created", {"petId": pet_id, "name": pet["name"], "species": pet["species"], "status": pet["status"]}
    )
    await context.emit(
        {
            "topic": "py.pet.created",
            "data": {"petId": pet_id, "name": pet["name"], "species": pet["species"], "ageMonths": pet["ageMonths"]},
        }
    )
    await context.emit({"topic": "py.feeding.reminder.enqueued", "data": {"petId": pet_id, "enqueuedAt": now_ms()}})
    return {"status": 201, "body": pet}

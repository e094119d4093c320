"""SetNextFeedingReminder: the queue job every new pet gets (the spec's background job).

Writes the welcome `notes` and `nextFeedingAt = createdAt + 24 h`, then emits
`py.feeding.reminder.completed`, on which the orchestrator moves the pet into quarantine.
Idempotent under redelivery: the same values are computed again (nothing is rewritten) and
the completion is emitted again, which the orchestrator ignores once the pet has moved on.
Notes someone already wrote are kept.
"""

import time
from typing import Any

from pydantic import ValidationError

from services.models import FeedingReminderEnqueued, schema
from services.pet_store import DAY_MS, DELETED, StoreError, get_store, iso_time

WELCOME_NOTES = "Welcome to our pet store! We'll take great care of this pet."

config = {
    "type": "event",
    "name": "SetNextFeedingReminder",
    "description": "Adds welcome notes and nextFeedingAt (createdAt + 24 h) to a new pet",
    "subscribes": ["py.feeding.reminder.enqueued"],
    "emits": [{"topic": "py.feeding.reminder.completed", "label": "Feeding reminder set"}],
    "input": schema(FeedingReminderEnqueued),
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(input_data: Any, context: Any) -> None:
    try:
        event = FeedingReminderEnqueued.model_validate(input_data)
    except ValidationError as exc:
        context.logger.error("❌ Feeding reminder event is malformed", {"input": input_data, "error": str(exc)})
        return  # retrying can't fix it
    started = time.monotonic()
    pet_id = event.petId
    context.logger.info("🔄 Setting next feeding reminder", {"petId": pet_id, "enqueuedAt": event.enqueuedAt})

    skipped: str | None = None

    def decide(pet: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal skipped
        if pet.get("status") == DELETED:
            skipped = "pet is soft-deleted (a restore queues the reminder again)"
            return None
        patch = {"nextFeedingAt": pet["createdAt"] + DAY_MS}
        if not pet.get("notes"):
            patch["notes"] = WELCOME_NOTES
        return None if all(pet.get(k) == v for k, v in patch.items()) else patch

    try:
        change = get_store().modify(pet_id, decide)
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"petId": pet_id, "error": str(exc)})
        raise  # retried with backoff by the runtime
    if change is None or skipped:
        context.logger.info("⏭️ Feeding reminder skipped", {"petId": pet_id, "reason": skipped or "pet not found (purged)"})
        return

    pet = change.after
    context.logger.info(
        "✅ Next feeding reminder set",
        {"petId": pet_id, "notes": pet["notes"], "nextFeedingAt": iso_time(pet["nextFeedingAt"])},
    )
    await context.emit(
        {
            "topic": "py.feeding.reminder.completed",
            "data": {
                "petId": pet_id,
                "nextFeedingAt": pet["nextFeedingAt"],
                "processingTimeMs": round((time.monotonic() - started) * 1000),
            },
        }
    )

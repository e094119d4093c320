"""SetNextFeedingReminder: the queue job every new pet gets (the spec's background job).

Writes the welcome `notes` and `nextFeedingAt = createdAt + 24 h` (`decisions.feeding_reminder`),
then emits `py.feeding.reminder.completed`, on which the orchestrator moves the pet into
quarantine. Idempotent under redelivery: the same values are computed again (nothing is
rewritten, nor told on the pet's timeline again) and the completion is emitted again, which the
orchestrator ignores once the pet has moved on. Notes someone already wrote are kept. A store
failure raises: the runtime retries.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline
from services.clock import iso_time
from services.decisions import Outcome
from services.models import FeedingReminderEnqueued, schema
from services.store import get_store
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "SetNextFeedingReminder",
    "description": "Adds welcome notes and nextFeedingAt (createdAt + 24 h) to a new pet",
    "subscribes": ["py.feeding.reminder.enqueued"],
    "emits": [{"topic": "py.feeding.reminder.completed", "label": "Feeding reminder set"}],
    "input": schema(FeedingReminderEnqueued),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    try:
        event = FeedingReminderEnqueued.model_validate(input_data)
    except ValidationError as exc:
        context.logger.error("❌ Feeding reminder event is malformed", {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it
    started = time.monotonic()
    pet_id = event.petId
    context.logger.info("🔄 Setting next feeding reminder", {"petId": pet_id, "enqueuedAt": event.enqueuedAt})

    change = await get_store().amodify(
        pet_id, timeline.recording(decisions.feeding_reminder, timeline.told_feeding_reminder)
    )
    if change is None or change.decision.outcome is Outcome.SKIP:
        reason = "pet not found (purged)" if change is None else change.decision.reason
        context.logger.info("⏭️ Feeding reminder skipped", {"petId": pet_id, "reason": reason})
        return

    pet = change.after
    context.logger.info(
        "✅ Next feeding reminder set",
        {"petId": pet_id, "notes": pet["notes"], "nextFeedingAt": iso_time(pet["nextFeedingAt"])},
    )
    await timeline.publish(context, pet, since=change.before)
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

"""PetLifecycleOrchestrator: the only writer of `status` (soft delete and restore aside).

Two kinds of events arrive (a Motia handler is not told the topic, so the payload says):
- `py.feeding.reminder.completed` (`petId`, `nextFeedingAt`): a `new` pet moves to
  `in_quarantine`;
- `py.pet.status.update.requested` (`requestedStatus`, ...): from staff (PUT) or from this
  step's own automatic progressions (`automatic: true`).

Every decision is taken again against the pet as it is when the event arrives, under the
store's lock, so it is right even when status moved since the request was made.

At-least-once delivery is harmless:
- a request applied once is recognised by its `requestId` (kept on the pet as
  `lastStatusRequestId`) and not applied or rejected again;
- an automatic progression carries `fromStatus` and only applies while the pet is still
  there; a late duplicate can never undo what staff did since;
- whenever the pet sits in a status that moves on by itself (healthy, ill, recovered) the
  next automatic request is emitted, so a crash between the write and the emit is healed by
  the redelivery. Progressions are follow-up events, never sleeps.
"""

from typing import Any

from pydantic import ValidationError

from services.lifecycle import FEEDING_REMINDER_COMPLETED, STATUS_UPDATE_REQUESTED, check, description, is_noop, automatic_request
from services.models import FeedingReminderCompleted, Status, StatusUpdateRequested, schema
from services.pet_store import StoreError, get_store

config = {
    "type": "event",
    "name": "PetLifecycleOrchestrator",
    "description": "Applies the lifecycle transition table: quarantine after the feeding setup, staff decisions, automatic progressions",
    "subscribes": ["py.feeding.reminder.completed", "py.pet.status.update.requested"],
    "emits": [
        {"topic": "py.lifecycle.transition.completed", "label": "Transition completed", "conditional": True},
        {"topic": "py.lifecycle.transition.rejected", "label": "Transition rejected", "conditional": True},
        {"topic": "py.pet.status.update.requested", "label": "Automatic progression", "conditional": True},
    ],
    "input": schema(FeedingReminderCompleted, StatusUpdateRequested),
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(input_data: Any, context: Any) -> None:
    try:
        if isinstance(input_data, dict) and "requestedStatus" in input_data:
            await _on_status_request(StatusUpdateRequested.model_validate(input_data), context)
        else:
            await _on_feeding_completed(FeedingReminderCompleted.model_validate(input_data), context)
    except ValidationError as exc:
        context.logger.error("❌ Lifecycle event is malformed", {"input": input_data, "error": str(exc)})
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        raise  # retried with backoff by the runtime


async def _on_feeding_completed(event: FeedingReminderCompleted, context: Any) -> None:
    pet_id = event.petId
    context.logger.info("🔄 Lifecycle orchestrator processing", {"petId": pet_id, "eventType": FEEDING_REMINDER_COMPLETED})
    new, quarantine = Status.NEW.value, Status.IN_QUARANTINE.value
    change = get_store().modify(pet_id, lambda pet: {"status": quarantine} if pet.get("status") == new else None)
    if change is None:
        context.logger.warn("⚠️ Pet not found", {"petId": pet_id, "eventType": FEEDING_REMINDER_COMPLETED})
        return
    if not change.changed:
        # Redelivery, or the pet was deleted meanwhile: nothing to do.
        context.logger.info("⏭️ No transition needed", {"petId": pet_id, "status": change.after["status"]})
        return
    await _completed(context, pet_id, new, quarantine, automatic=True, trigger=FEEDING_REMINDER_COMPLETED, request_id=None)


async def _on_status_request(event: StatusUpdateRequested, context: Any) -> None:
    pet_id, requested = event.petId, event.requestedStatus.value
    if event.automatic:
        context.logger.info(
            "🤖 Automatic progression",
            {"petId": pet_id, "eventType": STATUS_UPDATE_REQUESTED, "requestedStatus": requested, "automatic": True},
        )
    else:
        context.logger.info(
            "🔄 Lifecycle orchestrator processing",
            {"petId": pet_id, "eventType": STATUS_UPDATE_REQUESTED, "requestedStatus": requested},
        )

    outcome: dict[str, Any] = {}

    def decide(pet: dict[str, Any]) -> dict[str, Any] | None:
        current = pet.get("status")
        outcome["current"] = current
        if event.requestId and pet.get("lastStatusRequestId") == event.requestId:
            outcome["kind"] = "duplicate"
        elif is_noop(current, requested):
            outcome["kind"] = "noop"
        elif event.automatic and event.fromStatus and current != event.fromStatus.value:
            outcome["kind"] = "stale"
        else:
            allowed, reason = check(current, requested)
            outcome["kind"] = "applied" if allowed else "rejected"
            outcome["reason"] = reason
            if allowed:
                return {"status": requested, "lastStatusRequestId": event.requestId}
        return None

    change = get_store().modify(pet_id, decide)
    if change is None:
        context.logger.warn("⚠️ Pet not found", {"petId": pet_id, "requestedStatus": requested})
        return
    kind, current = outcome["kind"], outcome["current"]

    if kind == "applied":
        await _completed(context, pet_id, current, requested, automatic=event.automatic, trigger=STATUS_UPDATE_REQUESTED, request_id=event.requestId)
    elif kind == "rejected":
        rejection = {"petId": pet_id, "currentStatus": current, "requestedStatus": requested, "reason": outcome["reason"]}
        context.logger.warn("⚠️ Transition rejected", rejection)
        await context.emit(
            {"topic": "py.lifecycle.transition.rejected", "data": {**rejection, "automatic": event.automatic, "requestId": event.requestId}}
        )
    elif kind == "stale":
        context.logger.info(
            "⏭️ Automatic progression skipped",
            {"petId": pet_id, "currentStatus": current, "expectedStatus": event.fromStatus.value, "requestedStatus": requested},
        )
    else:  # noop or duplicate: already there; make sure what follows by itself still follows
        reason = "request already applied" if kind == "duplicate" else f"pet is already {current}"
        context.logger.info("⏭️ No transition needed", {"petId": pet_id, "status": current, "reason": reason})
        await _progress(context, pet_id, current)


async def _completed(
    context: Any, pet_id: str, old: str, new: str, *, automatic: bool, trigger: str, request_id: str | None
) -> None:
    text = description(old, new, automatic=automatic, trigger=trigger)
    context.logger.info(
        "✅ Lifecycle transition completed", {"petId": pet_id, "oldStatus": old, "newStatus": new, "description": text}
    )
    await context.emit(
        {
            "topic": "py.lifecycle.transition.completed",
            "data": {
                "petId": pet_id,
                "oldStatus": old,
                "newStatus": new,
                "description": text,
                "automatic": automatic,
                "eventType": trigger,
                "requestId": request_id,
            },
        }
    )
    await _progress(context, pet_id, new)


async def _progress(context: Any, pet_id: str, status: str) -> None:
    """Request the automatic next step from `status`, if there is one."""
    follow_up = automatic_request(pet_id, status)
    if follow_up is None:
        return
    context.logger.info(
        "🤖 Orchestrator triggering automatic progression",
        {"petId": pet_id, "currentStatus": status, "nextStatus": follow_up["requestedStatus"]},
    )
    await context.emit({"topic": "py.pet.status.update.requested", "data": follow_up})

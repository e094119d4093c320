"""PetLifecycleOrchestrator: the only writer of `status` (soft delete and restore aside).

Three kinds of events arrive (a Motia handler is not told the topic, so the payload says):
- `py.feeding.reminder.completed` (`petId`, `nextFeedingAt`): a `new` pet moves to
  `in_quarantine`;
- `py.pet.status.update.requested` (`requestedStatus`, ...): from staff (PUT) or from this
  step's own automatic progressions (`automatic: true`);
- a routing agent's decision (`review`): `py.health.treatment_required`,
  `py.health.no_treatment_needed`, `py.adoption.ready`, `py.adoption.needs_data`. The agent only
  chose; this step records the decision on the pet and applies it (docs/decisions.md#15-17).

A pet entering under_treatment or available is owed its treatment plan or adoption posting: this
step asks for them (`py.treatment.required`, `py.adoption.posting.requested`).

Every transition, rejection and agent decision is told on the pet's timeline, in the same write
(services/timeline.py); a repeat, which changes nothing, tells nothing.

The rules are `decisions.feeding_completed`, `decisions.status_request` and
`decisions.review_decided`; the store runs them
under its lock on the pet as it is when the event arrives, so they are right even when status
moved since the request was made. At-least-once delivery is harmless: a request applied once is
recognised by its `requestId`, a stale automatic progression by its `fromStatus`, and whenever the
pet sits in a status that moves on by itself the next automatic request is emitted again, so a
crash between the write and the emit is healed by the redelivery. Progressions are follow-up
events, never sleeps. A store failure raises: the runtime retries with backoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline, topics
from services.decisions import Decision, Outcome
from services.lifecycle import FEEDING_REMINDER_COMPLETED_TRIGGER, STATUS_UPDATE_REQUESTED_TRIGGER
from services.models import FeedingReminderCompleted, ReviewDecided, StatusUpdateRequested, schema
from services.store import get_store
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context, EmitData

config = {
    "type": "event",
    "name": "PetLifecycleOrchestrator",
    "description": (
        "Applies the lifecycle transition table: quarantine after the feeding setup, staff decisions,"
        " automatic progressions"
    ),
    "subscribes": [
        "py.feeding.reminder.completed",
        "py.pet.status.update.requested",
        "py.health.treatment_required",
        "py.health.no_treatment_needed",
        "py.adoption.ready",
        "py.adoption.needs_data",
    ],
    "emits": [
        {"topic": "py.lifecycle.transition.completed", "label": "Transition completed", "conditional": True},
        {"topic": "py.lifecycle.transition.rejected", "label": "Transition rejected", "conditional": True},
        {"topic": "py.pet.status.update.requested", "label": "Automatic progression", "conditional": True},
        {"topic": "py.treatment.required", "label": "Treatment plan needed", "conditional": True},
        {"topic": "py.adoption.posting.requested", "label": "Adoption posting needed", "conditional": True},
    ],
    "input": schema(FeedingReminderCompleted, StatusUpdateRequested, ReviewDecided),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    try:
        event = _parse(input_data)
    except ValidationError as exc:
        context.logger.error("❌ Lifecycle event is malformed", {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it

    pet_id = event.petId
    if isinstance(event, StatusUpdateRequested):
        trigger = STATUS_UPDATE_REQUESTED_TRIGGER
        fields = {"petId": pet_id, "eventType": trigger, "requestedStatus": event.requestedStatus.value}
        if event.automatic:
            context.logger.info("🤖 Automatic progression", {**fields, "automatic": True})
        else:
            context.logger.info("🔄 Lifecycle orchestrator processing", fields)
        told = timeline.told_status_request(event.requestedStatus.value, event.automatic, event.requestId)
        change = await get_store().amodify(
            pet_id, timeline.recording(lambda pet: decisions.status_request(pet, event), told)
        )
    elif isinstance(event, ReviewDecided):
        review = event.review
        trigger = f"{review.agent.value}.{review.choice.value}"
        context.logger.info(
            "🧭 Agent decision received",
            {
                "petId": pet_id,
                "agent": review.agent.value,
                "choice": review.choice.value,
                "source": review.source,
                "reviewId": review.id,
            },
        )
        recorded = timeline.recording(lambda pet: decisions.review_decided(pet, review), timeline.told_review(review))
        change = await get_store().amodify(pet_id, recorded)
    else:
        trigger = FEEDING_REMINDER_COMPLETED_TRIGGER
        context.logger.info("🔄 Lifecycle orchestrator processing", {"petId": pet_id, "eventType": trigger})
        change = await get_store().amodify(
            pet_id, timeline.recording(decisions.feeding_completed, timeline.told_transition)
        )

    if change is None:
        context.logger.warn("⚠️ Pet not found", {"petId": pet_id, "eventType": trigger})
        return
    outcomes = _report(context, pet_id, change.before["status"], change.decision, input_data)
    await timeline.publish(
        context, change.after, since=change.before
    )  # before what it sets off: clients see causes first
    for outcome in outcomes:
        await context.emit(outcome)


def _parse(data: Any) -> StatusUpdateRequested | FeedingReminderCompleted | ReviewDecided:
    if isinstance(data, dict) and "requestedStatus" in data:
        return StatusUpdateRequested.model_validate(data)
    if isinstance(data, dict) and "review" in data:
        return ReviewDecided.model_validate(data)
    return FeedingReminderCompleted.model_validate(data)


def _report(context: Context, pet_id: str, current: str, decision: Decision, event: dict[str, Any]) -> list[EmitData]:
    """Log what was decided; the events to emit: the outcome, then whatever follows by itself."""
    events: list[EmitData] = []
    if decision.outcome is Outcome.APPLY and decision.change is not None:
        c = decision.change
        context.logger.info(
            "✅ Lifecycle transition completed",
            {"petId": pet_id, "oldStatus": c.old, "newStatus": c.new, "description": c.description},
        )
        completed = {
            "petId": pet_id,
            "oldStatus": c.old,
            "newStatus": c.new,
            "description": c.description,
            "automatic": c.automatic,
            "eventType": c.trigger,
            "requestId": c.request_id,
        }
        events.append({"topic": topics.TRANSITION_COMPLETED, "data": completed})
    elif "review" in event:
        review = event["review"]
        fields = {"petId": pet_id, "agent": review["agent"], "choice": review["choice"], "status": current}
        if decision.kind == "held_for_staff":
            context.logger.warn(
                "✋ Agent decision held for staff (recorded, not applied)", {**fields, "reason": decision.reason}
            )
        elif decision.outcome is Outcome.APPLY:
            context.logger.info(
                "📋 Agent decision recorded", {**fields, "note": decision.reason} if decision.reason else fields
            )
        elif decision.outcome is Outcome.REJECT:
            context.logger.warn("⚠️ Agent decision refused", {**fields, "reason": decision.reason})
        else:
            context.logger.info("⏭️ Agent decision already applied", {**fields, "reason": decision.reason})
    elif decision.outcome is Outcome.REJECT:
        rejection = {
            "petId": pet_id,
            "currentStatus": current,
            "requestedStatus": event["requestedStatus"],
            "reason": decision.reason,
        }
        context.logger.warn("⚠️ Transition rejected", rejection)
        data = {**rejection, "automatic": bool(event.get("automatic")), "requestId": event.get("requestId")}
        events.append({"topic": topics.TRANSITION_REJECTED, "data": data})
    elif decision.kind == "stale":
        context.logger.info(
            "⏭️ Automatic progression skipped",
            {
                "petId": pet_id,
                "currentStatus": current,
                "expectedStatus": event.get("fromStatus"),
                "requestedStatus": event["requestedStatus"],
            },
        )
    elif decision.kind in ("duplicate", "noop"):
        context.logger.info("⏭️ No transition needed", {"petId": pet_id, "status": current, "reason": decision.reason})
    else:  # the feeding completion of a pet that has moved on (a redelivery, or deleted meanwhile)
        context.logger.info("⏭️ No transition needed", {"petId": pet_id, "status": current})

    for follow_up in decision.follow_ups:
        if follow_up.topic == topics.STATUS_UPDATE_REQUESTED:
            context.logger.info(
                "🤖 Orchestrator triggering automatic progression",
                {
                    "petId": pet_id,
                    "currentStatus": follow_up.data["currentStatus"],
                    "nextStatus": follow_up.data["requestedStatus"],
                },
            )
        events.append({"topic": follow_up.topic, "data": follow_up.data})
    return events

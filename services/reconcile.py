"""Set going again whatever a pet's chain is missing: the reconciler's pass, shared by its two triggers.

The `PetReconciler` cron step runs it every minute over pets left alone for a grace period; the
`PetRestartRecovery` step runs it at once when steprunner restarts after a crash, over every pet but
those with work still in flight in the journal (another live process holds it, or will run it). Every
handler a follow-up reaches is idempotent, so queueing one twice is harmless (docs/decisions.md#35).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from services import timeline
from services.decisions import missing_follow_ups
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import Context


# What a reconcile pass may emit, for the config of each step that runs one (the cron and the restart pass).
RECONCILE_EMITS: list[dict[str, Any]] = [
    {"topic": "py.feeding.reminder.enqueued", "label": "Feeding reminder queued again", "conditional": True},
    {"topic": "py.ai.profile.enrichment.requested", "label": "Missing profile requested", "conditional": True},
    {"topic": "py.pet.status.update.requested", "label": "Automatic progression resumed", "conditional": True},
    {"topic": "py.treatment.required", "label": "Missing treatment plan requested", "conditional": True},
    {"topic": "py.adoption.posting.requested", "label": "Missing adoption posting requested", "conditional": True},
]


def pets_named_in(deliveries: Iterable[Any]) -> frozenset[str]:
    """The pets the data of journaled deliveries name (`petId`): their chains are still under way."""
    return frozenset(str(d["petId"]) for d in deliveries if isinstance(d, dict) and d.get("petId") is not None)


async def reconcile(context: Context, now: int, settled_before: int, busy: frozenset[str] = frozenset()) -> int:
    """Publish stranded timeline items and queue again what pets unchanged since `settled_before` (epoch ms)
    are owed, leaving out the `busy` ones; how many events were queued."""
    pets = [p for p in await get_store().aall() if p["id"] not in busy]
    stranded = await timeline.publish_leftovers(context, (p for p in pets if timeline.outbox_of(p)), settled_before)
    for pet_id, missing in stranded.items():
        context.logger.warn("🩹 Pet timeline incomplete: items published", {"petId": pet_id, "items": missing})
    published = sum(stranded.values())
    requeued = 0
    for pet in pets:
        if pet.get("updatedAt", 0) > settled_before:
            continue
        owed = missing_follow_ups(pet, now)
        if owed:
            context.logger.warn(
                "🩹 Pet chain incomplete: queueing again", {"petId": pet["id"], "topics": [f.topic for f in owed]}
            )
        for follow_up in owed:
            await context.emit({"topic": follow_up.topic, "data": follow_up.data})
        requeued += len(owed)
    if requeued or published:
        context.logger.info("✅ Pet reconciler done", {"eventsQueued": requeued, "timelineItemsPublished": published})
    return requeued

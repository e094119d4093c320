"""PetReconciler: every minute, set going again whatever a pet's chain is missing.

Creating a pet writes pets.json and then queues its events; a process killed between the two (or
a journal write that fails) leaves a pet that exists but whose chain never starts. Rather than
make two stores commit together, the pet's own state says what it is still owed
(`decisions.missing_follow_ups`): a `new` pet its feeding reminder, a pet without a profile its
enrichment, a healthy/ill/recovered pet its automatic progression. Every handler these reach is
idempotent, so emitting again is always safe (docs/decisions.md#35). Timeline items written with a
change but not on the stream (the process died in between) are published here too, and every
published item still in an outbox is taken out of it (docs/decisions.md#38).

Pets changed within the last PET_RECONCILE_GRACE_SECONDS (default 120, longer than a model call
may take) are left alone: their chain is most likely still running. Change the schedule with
`STEPRUNNER_CRON_PET_RECONCILER`; run it at once with `python -m steprunner cron run PetReconciler`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from services import timeline
from services.clock import now_ms
from services.decisions import missing_follow_ups
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "cron",
    "name": "PetReconciler",
    "description": (
        "Every minute: re-queues what a pet is still owed (feeding, profile, progression, plan, posting);"
        " publishes stranded timeline items"
    ),
    "cron": "* * * * *",
    "emits": [
        {"topic": "py.feeding.reminder.enqueued", "label": "Feeding reminder queued again", "conditional": True},
        {"topic": "py.ai.profile.enrichment.requested", "label": "Missing profile requested", "conditional": True},
        {"topic": "py.pet.status.update.requested", "label": "Automatic progression resumed", "conditional": True},
        {"topic": "py.treatment.required", "label": "Missing treatment plan requested", "conditional": True},
        {"topic": "py.adoption.posting.requested", "label": "Missing adoption posting requested", "conditional": True},
    ],
    "flows": ["pets"],
}

DEFAULT_GRACE_SECONDS = 120.0


async def handler(context: Context) -> None:
    now = now_ms()
    settled_before = now - int(float(os.environ.get("PET_RECONCILE_GRACE_SECONDS") or DEFAULT_GRACE_SECONDS) * 1000)
    pets = await get_store().aall()
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

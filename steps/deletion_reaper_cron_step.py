"""DeletionReaper: every day at 02:00 (local time), purge soft-deleted pets whose purgeAt passed.

The rule is `decisions.purge_verdict`. A purged pet's timeline goes with it. One audit event per
purged pet (`py.pet.purged`) and a summary (`py.reaper.completed`). Run it at once with
`python -m steprunner cron run DeletionReaper`; change the schedule without editing code with
`STEPRUNNER_CRON_DELETION_REAPER` (see README).
A store failure raises: the run fails loudly and the next tick tries again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import timeline
from services.clock import iso_time, now_ms
from services.decisions import purge_verdict
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "cron",
    "name": "DeletionReaper",
    "description": "Daily at 02:00: permanently removes soft-deleted pets past their purgeAt",
    "cron": "0 2 * * *",
    "emits": [
        {"topic": "py.pet.purged", "label": "Pet purged (audit)", "conditional": True},
        {"topic": "py.reaper.completed", "label": "Reaper summary"},
    ],
    "flows": ["pets"],
}


async def handler(context: Context) -> None:
    context.logger.info("🔄 Deletion Reaper started - scanning for pets to purge")
    now = now_ms()
    try:
        # Their timelines first: a run that dies after this purges them next time (a restore past
        # purgeAt is refused, so nothing brings them back meanwhile); the other order could strand
        # the timeline of a pet that no longer exists.
        for pet in await get_store().aall():
            verdict = purge_verdict(pet, now)
            if verdict is not None and verdict.purge:
                await timeline.purge(context, pet["id"])
        judged = await get_store().apurge(lambda pet: purge_verdict(pet, now))
    except Exception as exc:
        context.logger.error("❌ Deletion Reaper failed", {"error": str(exc)})
        raise
    purged_at = now_ms()
    purged = [pet for pet, verdict in judged if verdict.purge]
    for pet in purged:
        context.logger.info(
            "💀 Pet permanently purged",
            {
                "petId": pet["id"],
                "name": pet.get("name"),
                "deletedAt": iso_time(pet.get("deletedAt")),
                "purgeAt": iso_time(pet.get("purgeAt")),
            },
        )
        await context.emit(
            {
                "topic": "py.pet.purged",
                "data": {
                    "petId": pet["id"],
                    "name": pet.get("name"),
                    "deletedAt": pet.get("deletedAt"),
                    "purgeAt": pet.get("purgeAt"),
                    "purgedAt": purged_at,
                },
            }
        )
    failed = [(pet["id"], verdict.problem) for pet, verdict in judged if verdict.problem]
    for pet_id, reason in failed:
        context.logger.warn("⚠️ Pet could not be purged", {"petId": pet_id, "reason": reason})
    summary = {"totalScanned": len(judged), "purgedCount": len(purged), "failedCount": len(failed)}
    context.logger.info("✅ Deletion Reaper completed", summary)
    await context.emit({"topic": "py.reaper.completed", "data": summary})

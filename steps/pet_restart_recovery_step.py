"""PetRestartRecovery: a process restarted after a crash settles the pets it stranded at once.

steprunner publishes `steprunner.node.restarted` when it starts on a node whose earlier process died
(runtime/steprunner/recovery.py), after taking back the deliveries that process held. What the
journal never heard of (a pet written to pets.json just before the SIGKILL, its events not yet
queued) is settled here: the reconciler's pass (services/reconcile.py) with no grace period, over
every pet but those with work still in the journal, which a live process holds or will run, so that
nothing another node is doing is queued twice. Under real Motia the topic is never published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.clock import now_ms
from services.reconcile import RECONCILE_EMITS, pets_named_in, reconcile
from steprunner.recovery import RESTARTED_TOPIC, work_in_flight

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "PetRestartRecovery",
    "description": "After a crash: re-queues at once what the restarted node's pets are owed, leaving live work alone",
    "subscribes": [RESTARTED_TOPIC],
    "emits": RECONCILE_EMITS,
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    in_flight = await work_in_flight()
    if in_flight is None:
        return  # not under steprunner: nothing restarted
    busy = pets_named_in(in_flight)
    context.logger.info(
        "🩹 Restarted after a crash: settling stranded pets", {"restart": input_data, "petsWithWorkInFlight": len(busy)}
    )
    now = now_ms()
    queued = await reconcile(context, now, now, busy)
    context.logger.info("✅ Stranded pets settled", {"eventsQueued": queued, "petsLeftAlone": len(busy)})

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
may take) are left alone: their chain is most likely still running. After a crash the restarted
process does not wait for this: `PetRestartRecovery` runs the same pass at once (services/reconcile.py).
Change the schedule with `STEPRUNNER_CRON_PET_RECONCILER`; run it at once with
`python -m steprunner cron run PetReconciler`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from services.clock import now_ms
from services.reconcile import RECONCILE_EMITS, reconcile

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
    "emits": RECONCILE_EMITS,
    "flows": ["pets"],
}

DEFAULT_GRACE_SECONDS = 120.0


async def handler(context: Context) -> None:
    now = now_ms()
    grace_ms = int(float(os.environ.get("PET_RECONCILE_GRACE_SECONDS") or DEFAULT_GRACE_SECONDS) * 1000)
    await reconcile(context, now, now - grace_ms)

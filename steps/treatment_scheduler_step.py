"""TreatmentScheduler: a pet that enters `under_treatment` gets a treatment plan from its symptoms.

The orchestrator asks for it (`py.treatment.required`) on entry, and clears the plan of an earlier
stay in the same write; the reconciler asks again for a pet under treatment without one. The plan
is `services.treatment_plan` (type, urgency, medication, schedule), made under the store's lock from
the pet as it is then, and written by `decisions.care_written` only while the pet is still under
treatment and has none: a redelivered request, or one for a pet that has moved on, changes nothing
and emits nothing (docs/decisions.md#37). Only `treatmentPlan` is written; `status` is the
orchestrator's. The plan is told on the pet's timeline, with the write. A store failure raises:
the runtime retries. The body is `services.care_steps.write_care`, shared with AdoptionPosting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.care_steps import TREATMENT_PLAN, write_care
from services.models import PetCareRequested, schema

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "TreatmentScheduler",
    "description": (
        "Writes a treatment plan (type, urgency, medication, schedule) derived from its symptoms"
        " on a pet entering under_treatment"
    ),
    "subscribes": ["py.treatment.required"],
    "emits": [{"topic": "py.treatment.scheduled", "label": "Treatment plan written", "conditional": True}],
    "input": schema(PetCareRequested),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    await write_care(TREATMENT_PLAN, input_data, context)

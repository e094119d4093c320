"""TreatmentScheduler: a pet that enters `under_treatment` gets a treatment plan from its symptoms.

The orchestrator asks for it (`py.treatment.required`) on entry, and clears the plan of an earlier
stay in the same write; the reconciler asks again for a pet under treatment without one. The plan
is `services.treatment_plan` (type, urgency, medication, schedule), made under the store's lock from
the pet as it is then, and written by `decisions.care_written` only while the pet is still under
treatment and has none: a redelivered request, or one for a pet that has moved on, changes nothing
and emits nothing (docs/decisions.md#37). Only `treatmentPlan` is written; `status` is the
orchestrator's. The plan is told on the pet's timeline, with the write. A store failure raises:
the runtime retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline
from services.clock import iso_time, now_ms
from services.models import PetCareRequested, schema
from services.store import get_store
from services.treatment_plan import treatment_plan
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "TreatmentScheduler",
    "description": "Writes a treatment plan (type, urgency, medication, schedule) derived from its symptoms on a pet entering under_treatment",
    "subscribes": ["py.treatment.required"],
    "emits": [{"topic": "py.treatment.scheduled", "label": "Treatment plan written", "conditional": True}],
    "input": schema(PetCareRequested),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    try:
        pet_id = PetCareRequested.model_validate(input_data).petId
    except ValidationError as exc:
        context.logger.error("❌ Treatment request is malformed", {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it
    context.logger.info("🏥 Treatment Scheduler triggered", {"petId": pet_id})

    now = now_ms()
    write = timeline.recording(
        lambda current: decisions.care_written(
            current, "treatmentPlan", treatment_plan(current, now).model_dump(mode="json")
        ),
        timeline.told_care("treatmentPlan"),
    )
    change = await get_store().amodify(pet_id, write)
    if change is None or not change.decision.applied:
        reason = "pet not found (purged)" if change is None else change.decision.reason
        context.logger.info("⏭️ Treatment scheduling skipped", {"petId": pet_id, "reason": reason})
        return

    plan = change.after["treatmentPlan"]
    context.logger.info(
        "📅 Treatment scheduled",
        {
            "petId": pet_id,
            "urgency": plan["urgency"],
            "startsAt": iso_time(plan["schedule"]["startsAt"]),
            "treatmentType": plan["treatmentType"],
            "symptoms": plan["symptoms"],
        },
    )
    await timeline.publish(context, change.after, since=change.before)
    await context.emit({"topic": "py.treatment.scheduled", "data": {"petId": pet_id, "plan": plan, "at": now}})

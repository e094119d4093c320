"""What the care steps do, written once for both: a treatment plan or an adoption posting on a pet.

The two step files (`treatment_scheduler_step.py`, `adoption_posting_step.py`) hold their configs,
so each shows its own edges in the flow, and hand their input here with the care they write, as
the review steps hand theirs to services/review_steps.py. `write_care` makes the plan or posting
under the store's lock from the pet as it is then, writes it through `decisions.care_written`
(only while the pet is still in the status that asked and has none), tells it on the pet's
timeline with the write, logs it and emits it. A redelivered request, or one for a pet that has
moved on, changes nothing and emits nothing (docs/decisions.md#37).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from services import decisions, timeline, topics
from services.adoption_posting import adoption_posting
from services.clock import iso_time, now_ms
from services.models import PetCareRequested
from services.store import get_store
from services.store_contract import Pet
from services.treatment_plan import treatment_plan
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context


@dataclass(frozen=True)
class Care:
    """One care step: the field it writes, how it makes it, its console lines and what it emits."""

    field_name: str
    make: Callable[[Pet, int], BaseModel]  # the pet as it is under the lock, and the time
    topic: str
    data_key: str  # the written value's key in the emitted data
    malformed: str
    triggered: str
    skipped: str
    written: str
    shown: Callable[[Mapping[str, Any]], dict[str, Any]]  # the written value's fields in the `written` line


TREATMENT_PLAN = Care(
    field_name="treatmentPlan",
    make=treatment_plan,
    topic=topics.TREATMENT_SCHEDULED,
    data_key="plan",
    malformed="❌ Treatment request is malformed",
    triggered="🏥 Treatment Scheduler triggered",
    skipped="⏭️ Treatment scheduling skipped",
    written="📅 Treatment scheduled",
    shown=lambda plan: {
        "urgency": plan["urgency"],
        "startsAt": iso_time(plan["schedule"]["startsAt"]),
        "treatmentType": plan["treatmentType"],
        "symptoms": plan["symptoms"],
    },
)

ADOPTION_POSTING = Care(
    field_name="adoptionPosting",
    make=adoption_posting,
    topic=topics.ADOPTION_POSTED,
    data_key="posting",
    malformed="❌ Adoption posting request is malformed",
    triggered="🏠 Adoption Posting triggered",
    skipped="⏭️ Adoption posting skipped",
    written="📝 Adoption posting created",
    shown=lambda posting: {"title": posting["title"], "adoptionFee": posting["adoptionFee"]},
)


async def write_care(care: Care, input_data: Any, context: Context) -> None:
    """The care step's handler: write the pet's plan or posting once, then tell, log and emit it."""
    try:
        pet_id = PetCareRequested.model_validate(input_data).petId
    except ValidationError as exc:
        context.logger.error(care.malformed, {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it
    context.logger.info(care.triggered, {"petId": pet_id})

    now = now_ms()
    write = timeline.recording(
        lambda pet: decisions.care_written(pet, care.field_name, care.make(pet, now).model_dump(mode="json")),
        timeline.told_care(care.field_name),
    )
    change = await get_store().amodify(pet_id, write)
    if change is None or not change.decision.applied:
        reason = "pet not found (purged)" if change is None else change.decision.reason
        context.logger.info(care.skipped, {"petId": pet_id, "reason": reason})
        return

    value = change.after[care.field_name]
    context.logger.info(care.written, {"petId": pet_id, **care.shown(value)})
    await timeline.publish(context, change.after, since=change.before)
    await context.emit({"topic": care.topic, "data": {"petId": pet_id, care.data_key: value, "at": now}})

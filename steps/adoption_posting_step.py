"""AdoptionPosting: a pet that becomes `available` gets an adoption posting made from its profile.

The orchestrator asks for it (`py.adoption.posting.requested`) on entry, and clears the posting of
an earlier stay in the same write; the reconciler asks again for an available pet without one. The
posting is `services.adoption_posting` (title, the bio as description, breed, temperament, adopter
hints, fee, requirements), made under the store's lock from the pet as it is then (the fallback
profile when it has none yet), and written by `decisions.care_written` only while the pet is still
available and has none: a redelivered request, or one for a pet that has moved on, changes nothing
and emits nothing (docs/decisions.md#37). Only `adoptionPosting` is written; `status` is the
orchestrator's. The posting is told on the pet's timeline, with the write. A store failure
raises: the runtime retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline
from services.adoption_posting import adoption_posting
from services.clock import now_ms
from services.models import PetCareRequested, schema
from services.store import get_store
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "AdoptionPosting",
    "description": "Writes an adoption posting (title, description, breed, temperament, fee, requirements) from its profile on a pet becoming available",
    "subscribes": ["py.adoption.posting.requested"],
    "emits": [{"topic": "py.adoption.posted", "label": "Adoption posting written", "conditional": True}],
    "input": schema(PetCareRequested),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    try:
        pet_id = PetCareRequested.model_validate(input_data).petId
    except ValidationError as exc:
        context.logger.error("❌ Adoption posting request is malformed", {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it
    context.logger.info("🏠 Adoption Posting triggered", {"petId": pet_id})

    now = now_ms()
    write = timeline.recording(
        lambda pet: decisions.care_written(pet, "adoptionPosting", adoption_posting(pet, now).model_dump(mode="json")),
        timeline.told_care("adoptionPosting"),
    )
    change = await get_store().amodify(pet_id, write)
    if change is None or not change.decision.applied:
        reason = "pet not found (purged)" if change is None else change.decision.reason
        context.logger.info("⏭️ Adoption posting skipped", {"petId": pet_id, "reason": reason})
        return

    posting = change.after["adoptionPosting"]
    context.logger.info(
        "📝 Adoption posting created",
        {"petId": pet_id, "title": posting["title"], "adoptionFee": posting["adoptionFee"]},
    )
    await timeline.publish(context, change.after, since=change.before)
    await context.emit({"topic": "py.adoption.posted", "data": {"petId": pet_id, "posting": posting, "at": now}})

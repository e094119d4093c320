"""AdoptionPosting: a pet that becomes `available` gets an adoption posting made from its profile.

The orchestrator asks for it (`py.adoption.posting.requested`) on entry, and clears the posting of
an earlier stay in the same write; the reconciler asks again for an available pet without one. The
posting is `services.adoption_posting` (title, the bio as description, breed, temperament, adopter
hints, fee, requirements), made under the store's lock from the pet as it is then (the fallback
profile when it has none yet), and written by `decisions.care_written` only while the pet is still
available and has none: a redelivered request, or one for a pet that has moved on, changes nothing
and emits nothing (docs/decisions.md#37). Only `adoptionPosting` is written; `status` is the
orchestrator's. The posting is told on the pet's timeline, with the write. A store failure
raises: the runtime retries. The body is `services.care_steps.write_care`, shared with
TreatmentScheduler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.care_steps import ADOPTION_POSTING, write_care
from services.models import PetCareRequested, schema

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "AdoptionPosting",
    "description": (
        "Writes an adoption posting (title, description, breed, temperament, fee, requirements) from its profile"
        " on a pet becoming available"
    ),
    "subscribes": ["py.adoption.posting.requested"],
    "emits": [{"topic": "py.adoption.posted", "label": "Adoption posting written", "conditional": True}],
    "input": schema(PetCareRequested),
    "flows": ["pets"],
}


async def handler(input_data: Any, context: Context) -> None:
    await write_care(ADOPTION_POSTING, input_data, context)

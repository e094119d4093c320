"""GET /py/pets/:id/timeline: the pet's timeline, oldest first, for curl (docs/decisions.md#20).

The same items a client subscribed to the stream `petTimeline` (group = the pet's id) sees, plus
any recorded with a change but not yet on the stream (services/timeline.py). 404 for an unknown
or purged pet; a soft-deleted pet's timeline is still there until the reaper purges it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import timeline
from services.models import ErrorBody, PetTimeline, schema
from services.responses import answers_store_errors, load_pet
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "GetPetTimeline",
    "description": "A pet's timeline: one item per event of its life (live: the stream petTimeline, group = pet id)",
    "path": "/py/pets/:id/timeline",
    "method": "GET",
    "emits": [],
    "responseSchema": {"200": schema(PetTimeline), "404": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    pet = await load_pet(get_store(), req["pathParams"]["id"])
    return {"status": 200, "body": {"petId": pet["id"], "items": await timeline.items_of(context, pet)}}

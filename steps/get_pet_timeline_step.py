"""GET /py/pets/:id/timeline: a page of the pet's timeline, newest first, for curl (docs/decisions.md#20).

The same items a client subscribed to the stream `petTimeline` (group = the pet's id) sees, plus
any recorded with a change but not yet on the stream (services/timeline.py). `limit` and `cursor`
as for GET /py/pets: pass `nextCursor` back as `cursor` for older items. 404 for an unknown or
purged pet; a soft-deleted pet's timeline is still there until the reaper purges it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from services import paging, timeline
from services.models import ErrorBody, PetTimeline, TimelineQuery, schema
from services.responses import answers_store_errors, load_pet
from services.store import get_store
from services.validation import invalid_payload

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "GetPetTimeline",
    "description": "A page of a pet's timeline, newest first (live: the stream petTimeline, group = pet id)",
    "path": "/py/pets/:id/timeline",
    "method": "GET",
    "emits": [],
    "queryParams": [
        {"name": name, "description": field.description or ""} for name, field in TimelineQuery.model_fields.items()
    ],
    "responseSchema": {
        "200": schema(PetTimeline),
        "400": schema(ErrorBody),
        "404": schema(ErrorBody),
        "500": schema(ErrorBody),
    },
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    try:
        query = TimelineQuery.model_validate(req.get("queryParams") or {})
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc, "Invalid query")}
    pet = await load_pet(get_store(), req["pathParams"]["id"])
    items, next_cursor = paging.newest_first(
        await timeline.items_of(context, pet), lambda i: str(i["id"]), query.limit, query.cursor
    )
    return {"status": 200, "body": {"petId": pet["id"], "items": items, "nextCursor": next_cursor}}

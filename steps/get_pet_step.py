"""GET /py/pets/:id: one pet, soft-deleted ones included (they show status `deleted`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.models import ErrorBody, Pet, schema
from services.responses import answers_store_errors, load_pet, shown
from services.store import get_store

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "GetPet",
    "description": "Get one pet by id",
    "path": "/py/pets/:id",
    "method": "GET",
    "emits": [],
    "responseSchema": {"200": schema(Pet), "404": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    return {"status": 200, "body": shown(await load_pet(get_store(), req["pathParams"]["id"]))}

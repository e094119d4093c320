"""GET /py/pets: one page of pets in id order, optionally by status and species.

Answers `{"items": [...], "nextCursor": ...}`; pass `nextCursor` back as `cursor` for the
next page (null on the last). Soft-deleted pets are left out unless `status=deleted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from services.models import ErrorBody, ListQuery, PetPage, query_params, schema
from services.responses import answers_store_errors, shown
from services.store import get_store
from services.validation import invalid_payload

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "ListPets",
    "description": "List pets, paginated (limit, cursor), filtered by status and species",
    "path": "/py/pets",
    "method": "GET",
    "emits": [],
    "queryParams": query_params(ListQuery),
    "responseSchema": {"200": schema(PetPage), "400": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    try:
        query = ListQuery.model_validate(req.get("queryParams") or {})
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc, "Invalid query")}
    page = await get_store().alist(status=query.status, species=query.species, limit=query.limit, cursor=query.cursor)
    return {"status": 200, "body": {"items": [shown(pet) for pet in page.items], "nextCursor": page.next_cursor}}

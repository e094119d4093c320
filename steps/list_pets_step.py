"""GET /py/pets: one page of pets in id order, optionally by status and species.

Answers `{"items": [...], "nextCursor": ...}`; pass `nextCursor` back as `cursor` for the
next page (null on the last). Soft-deleted pets are left out unless `status=deleted`.
"""

from typing import Any

from pydantic import ValidationError

from services.models import ErrorBody, ListQuery, PetPage, invalid_payload, schema, store_failure
from services.pet_store import StoreError, get_store

config = {
    "type": "api",
    "name": "ListPets",
    "description": "List pets, paginated (limit, cursor), filtered by status and species",
    "path": "/py/pets",
    "method": "GET",
    "emits": [],
    "queryParams": [
        {"name": name, "description": field.description or ""} for name, field in ListQuery.model_fields.items()
    ],
    "responseSchema": {"200": schema(PetPage), "400": schema(ErrorBody), "500": schema(ErrorBody)},
    "flows": ["pets"],
}

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        query = ListQuery.model_validate(req.get("queryParams") or {})
    except ValidationError as exc:
        return {"status": 400, "body": invalid_payload(exc, "Invalid query")}
    try:
        page = get_store().list(
            status=query.status and query.status.value,
            species=query.species and query.species.value,
            limit=query.limit,
            cursor=query.cursor,
        )
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)
    return {"status": 200, "body": {"items": page.items, "nextCursor": page.next_cursor}}

"""GET /py/pets/:id: one pet, soft-deleted ones included (they show status `deleted`)."""

from typing import Any

from services.models import ErrorBody, Pet, schema, store_failure
from services.pet_store import StoreError, get_store

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

# Open and check pets.json while the step loads: a corrupt file stops start-up, naming it.
get_store()


async def handler(req: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        pet = get_store().get(req["pathParams"]["id"])
    except StoreError as exc:
        context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
        return store_failure(exc)
    if pet is None:
        return {"status": 404, "body": {"message": "Not found"}}
    return {"status": 200, "body": pet}

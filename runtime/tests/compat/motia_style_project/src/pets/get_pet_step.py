config = {
    "type": "api",
    "name": "GetPet",
    "path": "/pets/:id",
    "method": "GET",
    "emits": [],
    "flows": ["pets"],
}


async def handler(req, context):
    pet_id = req["pathParams"]["id"]
    stored = await context.state.get("pets", pet_id)
    seen = await context.state.get("seen", pet_id)
    missing = await context.state.get("pets", "no-such-pet")
    group = await context.state.get_group("pets")
    return {"status": 200, "body": {"pet": stored, "seen": seen, "missing": missing, "group": group}}

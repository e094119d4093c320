from .helpers import greeting  # a relative import, as Motia's runner allows

config = {
    "type": "api",
    "name": "CreatePet",
    "path": "/pets",
    "method": "POST",
    "emits": ["pet.created"],
    "flows": ["pets"],
    "responseSchema": {200: {"type": "object"}, 400: {"type": "object"}},
}


async def handler(req, context):
    pet = req["body"]
    await context.state.set("pets", pet["id"], pet)
    context.logger.info("pet stored", pet["id"])  # not a dict: Motia logs it as {"data": ...}
    await context.emit({"topic": "pet.created", "data": {"id": pet["id"], "name": 42}})  # misses `input`
    await context.emit({"topic": "pet.audited", "data": {"id": pet["id"]}})  # not in `emits`
    return {"status": 200, "body": {"greeting": greeting(pet["name"])}}

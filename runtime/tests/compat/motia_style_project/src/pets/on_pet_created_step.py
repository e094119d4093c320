config = {
    "type": "event",
    "name": "OnPetCreated",
    "subscribes": ["pet.created"],
    "emits": [],
    "flows": ["pets"],
    "input": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        "required": ["id", "name"],
    },
}


async def handler(data, context):
    await context.state.set("seen", data["id"], {"by": "OnPetCreated"})

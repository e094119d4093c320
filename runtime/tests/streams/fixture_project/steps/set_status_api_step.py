config = {
    "type": "api",
    "name": "SetStatus",
    "path": "/streams/:groupId/:id",
    "method": "PUT",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    p = req["pathParams"]
    item = await context.streams.petStatus.set(p["groupId"], p["id"], req["body"])
    return {"status": 200, "body": item}

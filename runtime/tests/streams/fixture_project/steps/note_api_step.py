config = {
    "type": "api",
    "name": "SetNote",
    "path": "/notes/:groupId/:id",
    "method": "PUT",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    p = req["pathParams"]
    return {"status": 200, "body": await context.streams.privateNotes.set(p["groupId"], p["id"], req["body"])}

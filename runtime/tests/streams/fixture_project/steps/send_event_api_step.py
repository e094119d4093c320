config = {
    "type": "api",
    "name": "SendEvent",
    "path": "/streams/:groupId/events",
    "method": "POST",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    body = req["body"]
    channel = {"groupId": req["pathParams"]["groupId"]}
    if body.get("id"):
        channel["id"] = body["id"]
    await context.streams.petStatus.send(channel, {"type": body["type"], "data": body.get("data")})
    return {"status": 200, "body": {"sent": True}}

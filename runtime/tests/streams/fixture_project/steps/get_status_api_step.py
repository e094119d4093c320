config = {
    "type": "api",
    "name": "GetStatus",
    "path": "/streams/:groupId/:id",
    "method": "GET",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    p = req["pathParams"]
    return {"status": 200, "body": {"item": await context.streams["petStatus"].get(p["groupId"], p["id"])}}

config = {
    "type": "api",
    "name": "DeleteStatus",
    "path": "/streams/:groupId/:id",
    "method": "DELETE",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    p = req["pathParams"]
    return {"status": 200, "body": {"deleted": await context.streams.petStatus.delete(p["groupId"], p["id"])}}

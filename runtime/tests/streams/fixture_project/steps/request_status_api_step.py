config = {
    "type": "api",
    "name": "RequestStatus",
    "path": "/streams/:groupId/:id/later",
    "method": "POST",
    "emits": ["status.requested"],
    "flows": ["streams"],
}


async def handler(req, context):
    p = req["pathParams"]
    await context.emit(
        {"topic": "status.requested", "data": {"groupId": p["groupId"], "id": p["id"], "item": req["body"]}}
    )
    return {"status": 202, "body": {"queued": True}}

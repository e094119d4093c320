config = {
    "type": "api",
    "name": "RequestVisit",
    "path": "/visits",
    "method": "POST",
    "emits": ["visit.requested"],
    "flows": ["visits"],
}


async def handler(req, context):
    name = req["body"]["name"]
    await context.emit({"topic": "visit.requested", "data": {"name": name}})
    return {"status": 202, "body": {"name": name}}

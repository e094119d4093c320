config = {
    "type": "api",
    "name": "ShowVisit",
    "path": "/visits/:name",
    "method": "GET",
    "emits": [],
    "flows": ["visits"],
}


async def handler(req, context):
    visit = (await context.state.get("visits", req["pathParams"]["name"]))["data"]  # Motia 0.17 wraps state.get
    return {"status": 200, "body": visit} if visit else {"status": 404, "body": {"message": "no such visit"}}

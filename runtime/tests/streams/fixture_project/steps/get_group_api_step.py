config = {
    "type": "api",
    "name": "GetGroup",
    "path": "/streams/:groupId",
    "method": "GET",
    "emits": [],
    "flows": ["streams"],
}


async def handler(req, context):
    group = req["pathParams"]["groupId"]
    return {
        "status": 200,
        "body": {
            "items": await context.streams.petStatus.getGroup(group),
            "alias": await context.streams.petStatus.get_group(group),
        },
    }

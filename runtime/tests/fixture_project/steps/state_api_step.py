config = {"type": "api", "name": "StateApi", "path": "/state/:group/:key", "method": "PUT", "emits": []}


async def handler(req, context):
    group, key = req["pathParams"]["group"], req["pathParams"]["key"]
    previous = await context.state.get(group, key)
    await context.state.set(group, key, req["body"])
    return {"status": 200, "body": {"previous": previous, "group": await context.state.get_group(group)}}

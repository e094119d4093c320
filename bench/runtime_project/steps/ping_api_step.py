config = {"type": "api", "name": "Ping", "path": "/ping", "method": "GET", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    return {"status": 200, "body": {"pong": True}}

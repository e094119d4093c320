config = {"type": "api", "name": "Legacy", "path": "/legacy", "method": "GET", "emits": []}


async def handler(req, context):
    return {"status": 200, "body": {"legacy": True}}

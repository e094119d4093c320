config = {  # Motia refuses this config (no `emits`, an unknown key) and skips the step
    "type": "api",
    "name": "Broken",
    "path": "/broken",
    "method": "GET",
    "colour": "red",
}


async def handler(req, context):
    return {"status": 200, "body": {}}

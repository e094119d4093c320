import sys

import services.visits

config = {
    "type": "api",
    "name": "Where",
    "path": "/where",
    "method": "GET",
    "emits": [],
    "flows": ["visits"],
}


async def handler(req, context):
    return {"status": 200, "body": {"services": services.visits.__file__, "sysPath": sys.path}}

import time

config = {
    "type": "api",
    "name": "EmitOne",
    "path": "/emit",
    "method": "POST",
    "emits": ["bench.hop"],
    "flows": ["bench"],
}


async def handler(req, context):
    await context.emit({"topic": "bench.hop", "data": {"t": time.perf_counter()}})
    return {"status": 202, "body": {"ok": True}}

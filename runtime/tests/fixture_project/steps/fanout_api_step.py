config = {
    "type": "api",
    "name": "Fanout",
    "path": "/fanout",
    "method": "POST",
    "emits": ["t.fanout", "t.flaky", "t.slow", {"topic": "t.hop1", "label": "chain"}, "t.work"],
}


async def handler(req, context):
    body = req["body"] or {}
    for _ in range(int(body.get("count", 1))):
        await context.emit({"topic": body["topic"], "data": body.get("data", {})})
    return {"status": 202, "body": {"traceId": context.trace_id}}

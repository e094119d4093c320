config = {
    "type": "api",
    "name": "Echo",
    "path": "/echo/:name",
    "method": "POST",
    "emits": [],
    "flows": ["fixture"],
}


async def handler(req, context):
    return {"status": 200, "body": {"name": req["pathParams"]["name"], "body": req["body"], "query": req["queryParams"], "rawBody": req["rawBody"], "traceId": context.trace_id}}

config = {
    "type": "api",
    "name": "Echo",
    "path": "/echo/:name",
    "method": "POST",
    "emits": [],
    "flows": ["fixture"],
}


async def handler(req, context):
    echoed = {
        "name": req["pathParams"]["name"],
        "body": req["body"],
        "query": req["queryParams"],
        "rawBody": req["rawBody"],
    }
    return {"status": 200, "body": {**echoed, "traceId": context.trace_id}}

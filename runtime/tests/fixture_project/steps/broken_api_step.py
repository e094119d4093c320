config = {"type": "api", "name": "Broken", "path": "/broken/:how", "method": "GET", "emits": ["t.declared"]}


async def handler(req, context):
    how = req["pathParams"]["how"]
    if how == "raise":
        raise RuntimeError("boom from the fixture")
    if how == "raise-long":  # a traceback longer than the trace view keeps of a log line's fields
        raise RuntimeError("boom from the fixture " + "x" * 3000)
    if how == "undeclared":
        await context.emit({"topic": "t.not.declared", "data": {}})
    return None

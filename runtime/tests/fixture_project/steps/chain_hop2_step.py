from fixture_support.record import record

config = {"type": "event", "name": "Hop2", "subscribes": ["t.hop2"], "emits": ["t.hop3"]}


async def handler(data, context):
    record("hop2", traceId=context.trace_id)
    await context.emit({"topic": "t.hop3", "data": data})

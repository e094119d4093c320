from fixture_support.record import record

config = {"type": "event", "name": "Hop1", "subscribes": ["t.hop1"], "emits": ["t.hop2"]}


async def handler(data, context):
    record("hop1", traceId=context.trace_id)
    await context.emit({"topic": "t.hop2", "data": data})

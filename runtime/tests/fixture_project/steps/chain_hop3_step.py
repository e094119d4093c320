from fixture_support.record import record

config = {"type": "event", "name": "Hop3", "subscribes": ["t.hop3"], "emits": []}


async def handler(data, context):
    record("hop3", traceId=context.trace_id)

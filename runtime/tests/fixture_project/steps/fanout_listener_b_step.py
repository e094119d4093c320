from fixture_support.record import record

config = {"type": "event", "name": "ListenerB", "subscribes": ["t.fanout"], "emits": []}


async def handler(data, context):
    record("listener-b", data=data, traceId=context.trace_id)

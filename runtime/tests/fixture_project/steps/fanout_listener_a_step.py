from fixture_support.record import record

config = {"type": "event", "name": "ListenerA", "subscribes": ["t.fanout"], "emits": []}


async def handler(data, context):
    record("listener-a", data=data, traceId=context.trace_id)

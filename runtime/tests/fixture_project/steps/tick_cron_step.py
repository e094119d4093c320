import time

from fixture_support.record import record

config = {"type": "cron", "name": "Tick", "cron": "0 3 * * *", "emits": ["t.fanout"], "flows": ["fixture"]}


async def handler(context):
    record("tick", traceId=context.trace_id, at=time.time())
    await context.emit({"topic": "t.fanout", "data": {"from": "tick"}})

import asyncio

from fixture_support.record import record

config = {
    "type": "event",
    "name": "Work",
    "subscribes": ["t.work"],
    "emits": [],
    "infrastructure": {"handler": {"timeout": 10}},
}


async def handler(data, context):
    await asyncio.sleep(float(data.get("seconds", 0)))  # simulated work, so a test can kill mid-way
    record("work", seq=data.get("seq"), traceId=context.trace_id)

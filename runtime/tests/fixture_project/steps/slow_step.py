import asyncio

from fixture_support.record import record

config = {
    "type": "event",
    "name": "Slow",
    "subscribes": ["t.slow"],
    "emits": [],
    "infrastructure": {"handler": {"timeout": 0.5}, "queue": {"maxRetries": 0}},
}


async def handler(data, context):
    record("slow-started", data=data)
    await asyncio.sleep(30)  # the fixture's work: longer than its timeout
    record("slow-finished", data=data)

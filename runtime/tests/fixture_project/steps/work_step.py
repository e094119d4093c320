import asyncio

from fixture_support.record import flag, record

config = {
    "type": "event",
    "name": "Work",
    "subscribes": ["t.work"],
    "emits": [],
    "infrastructure": {"handler": {"timeout": 10}},
}


async def handler(data, context):
    await asyncio.sleep(float(data.get("seconds", 0)))  # simulated work
    gate = data.get("gate")
    while gate and not flag(gate):  # held until the test creates DATA_DIR/<gate>: killed mid-way for sure
        await asyncio.sleep(0.05)
    record("work", seq=data.get("seq"), traceId=context.trace_id)

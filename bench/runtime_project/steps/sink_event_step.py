import time

from bench_support.latency import samples

config = {"type": "event", "name": "Sink", "subscribes": ["bench.hop"], "emits": [], "flows": ["bench"]}


async def handler(data, context):
    samples.append(time.perf_counter() - data["t"])

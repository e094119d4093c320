from bench_support.latency import samples

config = {"type": "api", "name": "Latency", "path": "/latency", "method": "DELETE", "emits": [], "flows": ["bench"]}


async def handler(req, context):
    """Hand over the emit-to-handler samples collected so far and start afresh."""
    taken = list(samples)
    samples.clear()
    return {"status": 200, "body": {"samples": taken}}

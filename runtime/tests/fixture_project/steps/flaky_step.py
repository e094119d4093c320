from fixture_support.record import flag, record, take_one_failure

config = {
    "type": "event",
    "name": "Flaky",
    "subscribes": ["t.flaky"],
    "emits": [],
    "infrastructure": {"queue": {"maxRetries": 2}},
}


async def handler(data, context):
    if take_one_failure():
        record("flaky-failed", data=data)
        raise RuntimeError("flaky fixture fails once per line of DATA_DIR/flaky-fail-times")
    if flag("flaky-fail"):
        record("flaky-failed", data=data)
        raise RuntimeError("flaky fixture fails while DATA_DIR/flaky-fail exists")
    record("flaky-ok", data=data)

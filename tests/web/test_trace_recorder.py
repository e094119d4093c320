"""The trace recorder on its own, fed the observations the bus reports, in the order it reports them."""

from __future__ import annotations

import asyncio
import threading
import time

from steprunner.observe import (
    CronEnded,
    CronStarted,
    DeliveryEnded,
    DeliveryStarted,
    Emitted,
    RequestEnded,
    RequestStarted,
)
from steprunner.web.traces import TraceRecorder


def request(rec: TraceRecorder, trace: str, status: int = 201, emits: dict[str, list[str]] | None = None) -> None:
    rec.observe(RequestStarted(trace, "CreatePet", "POST", "/py/pets"))
    for topic, subscribers in (emits or {}).items():
        rec.observe(Emitted(trace, topic, "CreatePet", tuple(subscribers)))
    rec.observe(RequestEnded(trace, "CreatePet", status))


def delivery(rec: TraceRecorder, trace: str, did: int, step: str, outcome: str = "ok", attempt: int = 1) -> None:
    rec.observe(DeliveryStarted(trace, did, step, "py.pet.created", attempt))
    rec.observe(DeliveryEnded(trace, did, step, outcome, 100.0 + did, 0.25, None if outcome == "ok" else "boom"))


def test_a_trace_runs_until_every_emitted_event_is_handled_for_good() -> None:
    rec = TraceRecorder()
    request(rec, "t1", emits={"py.pet.created": ["Feeding", "Enrich"]})
    assert rec.detail("t1")["status"] == "running"
    delivery(rec, "t1", 1, "Feeding")
    delivery(rec, "t1", 2, "Enrich", outcome="retried")
    assert rec.detail("t1")["status"] == "running"  # a retry is still to come
    delivery(rec, "t1", 2, "Enrich", attempt=2)
    detail = rec.detail("t1")
    assert detail["status"] == "ok" and detail["retries"] == 1
    assert detail["origin"] == {"kind": "api", "step": "CreatePet", "method": "POST", "path": "/py/pets"}
    assert [(s["step"], s["outcome"], s["attempt"]) for s in detail["spans"]] == [
        ("CreatePet", "ok", 1),
        ("Feeding", "ok", 1),
        ("Enrich", "retried", 1),
        ("Enrich", "ok", 2),
    ]
    assert detail["spans"][1]["started"] == 101.0 and detail["spans"][1]["duration"] == 0.25
    assert detail["duration"] is not None and detail["duration"] >= 0


def test_dead_letters_5xx_and_failed_crons_make_a_trace_an_error() -> None:
    rec = TraceRecorder()
    request(rec, "dead", emits={"t": ["Slow"]})
    delivery(rec, "dead", 7, "Slow", outcome="dead")
    request(rec, "5xx", status=500)
    rec.observe(CronStarted("cron", "Reaper"))
    rec.observe(CronEnded("cron", "Reaper", False, 1.0, 0.1))
    statuses = {t["traceId"]: t["status"] for t in rec.summaries()}
    assert statuses == {"dead": "error", "5xx": "error", "cron": "error"}
    assert [s["outcome"] for s in rec.detail("dead")["spans"]] == ["ok", "dead"]
    assert rec.detail("cron")["origin"] == {"kind": "cron", "step": "Reaper"}


def test_log_lines_join_their_trace_and_everything_is_bounded() -> None:
    rec = TraceRecorder(max_traces=3, max_entries=5)
    request(rec, "t0")
    for i in range(8):
        rec.on_log(
            {
                "time": 1.0 + i,
                "level": "info",
                "step": "CreatePet",
                "traceId": "t0",
                "message": f"line {i}",
                "fields": {"i": i},
            }
        )
    rec.on_log({"time": 1.0, "level": "info", "step": "steprunner", "traceId": None, "message": "ready", "fields": {}})
    rec.on_log(
        {
            "time": 1.0,
            "level": "info",
            "step": "x",
            "traceId": "t0",
            "message": "huge",
            "fields": {"blob": "x" * 100_000},
        }
    )
    detail = rec.detail("t0")
    assert [line["message"] for line in detail["logLines"]] == [f"line {i}" for i in range(5)]
    assert detail["dropped"] == 4
    for n in range(1, 4):
        request(rec, f"t{n}")
    assert [t["traceId"] for t in rec.summaries()] == ["t3", "t2", "t1"]  # newest first, oldest forgotten
    rec2 = TraceRecorder()
    rec2.on_log(
        {
            "time": 1.0,
            "level": "info",
            "step": "x",
            "traceId": "big",
            "message": "huge",
            "fields": {"blob": "x" * 100_000},
        }
    )
    assert len(str(rec2.detail("big")["logLines"][0]["fields"])) < 5000


def test_subscribers_get_one_coalesced_update_per_changed_trace_even_from_other_threads() -> None:
    async def scenario() -> list[dict]:
        rec = TraceRecorder()
        rec.bind(asyncio.get_running_loop())
        subscriber = rec.subscribe()
        request(rec, "t1", emits={"t": ["A"]})
        line = {"time": 1.0, "level": "info", "step": "A", "traceId": "t1", "message": "from a thread", "fields": {}}
        worker = threading.Thread(target=lambda: rec.on_log(line))
        worker.start()
        worker.join()
        await asyncio.wait_for(subscriber.wakeup.wait(), 5)
        messages = subscriber.take()
        rec.close()
        assert subscriber.closed
        return messages

    messages = asyncio.run(scenario())
    assert [m["traceId"] for m in messages] == ["t1"]
    assert messages[0]["status"] == "running" and messages[0]["logs"] == 1


def test_a_total_budget_forgets_the_oldest_traces_first() -> None:
    rec = TraceRecorder(max_traces=100, max_entries=100, max_total=10)
    for n in range(6):
        request(rec, f"t{n}", emits={"t": ["A"]})  # two entries each: the request span and the emit
    assert [t["traceId"] for t in rec.summaries()] == ["t5", "t4", "t3", "t2", "t1"]
    for i in range(9):
        rec.on_log({"time": 1.0, "level": "info", "step": "A", "traceId": "t5", "message": f"m{i}", "fields": {}})
    assert [t["traceId"] for t in rec.summaries()] == ["t5"]  # the trace being written is never the one forgotten
    assert len(rec.detail("t5")["logLines"]) == 9


def test_traces_another_node_shares_later_still_list_by_when_they_started() -> None:
    rec = TraceRecorder(node="A")
    request(rec, "here")  # started now
    earlier = time.time() - 10
    rec.ingest(
        "B",
        [
            (earlier, RequestStarted("there", "CreatePet", "POST", "/py/pets")),
            (earlier + 0.1, RequestEnded("there", "CreatePet", 201)),
        ],
    )
    assert [t["traceId"] for t in rec.summaries()] == ["here", "there"], "newest first, though B's arrived last"


def test_the_recorder_keeps_at_most_its_byte_budget_whatever_the_lines_hold() -> None:
    """Bounded by bytes, not records: long messages and huge fields cost what is kept of them, never more."""
    import tracemalloc

    budget = 4 * 1024 * 1024
    tracemalloc.start()
    try:
        rec = TraceRecorder(max_bytes=budget)
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1500):
            trace = f"trace-{n}"
            request(rec, trace)
            rec.on_log(
                {
                    "time": time.time(),
                    "level": "info",
                    "step": "A",
                    "traceId": trace,
                    "message": f"{n} " + "m" * 20_000,
                    "fields": {"pets": [{"name": f"{n}-{i}" * 50} for i in range(100)]},
                }
            )
        queued = tracemalloc.get_traced_memory()[0] - before
        summaries = rec.summaries()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert summaries[0]["traceId"] == "trace-1499", "the newest traces are the ones kept"
    assert rec.detail("trace-1499")["logLines"][0]["message"].startswith("1499 m")
    # the recorder's estimate leaves room for Python's own overhead: a generous bound on what it really holds
    assert queued < 3 * budget and kept < 3 * budget, f"queued {queued} bytes, kept {kept} bytes"

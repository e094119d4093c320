"""The traces panel in Chromium: requests show up live, with every step they set off and its logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from steprunner.loader import load_steps
from steprunner.testing.waiting import wait_until
from tests.support.fixtures import FIXTURE_ROOT
from tests.support.server import REPO_ROOT, Server
from tests.web.flow_page import log_messages, open_page, open_trace, spans, trace_row


def test_a_request_and_the_events_it_sets_off_appear_as_one_trace(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    open_page(page, server.base_url, all_steps=True)
    page.wait_for_selector("#live.live--on")
    with server.client() as client:
        trace_id = client.post("/fanout", json={"topic": "t.hop1"}).json()["traceId"]
    row = trace_row(page, trace_id)
    row.wait_for()
    page.wait_for_selector(f'.trace[data-trace-id="{trace_id}"][data-status="ok"]')
    assert "POST /fanout" in row.inner_text()
    assert trace_id[:8] in row.inner_text()
    assert "ms" in row.locator(".trace__time").inner_text()  # total time
    open_trace(page, trace_id)
    shown = spans(page)
    assert [(s["step"], s["outcome"]) for s in shown] == [
        ("Fanout", "ok"),
        ("Hop1", "ok"),
        ("Hop2", "ok"),
        ("Hop3", "ok"),
    ]
    assert [s["trigger"] for s in shown] == ["HTTP 202", "t.hop1", "t.hop2", "t.hop3"]
    assert all(s["start"].startswith("+") and s["duration"].endswith(("ms", " s")) for s in shown)
    # the nodes it touched are outlined in the flow
    outlined = page.locator(".node.is-touched").evaluate_all("els => els.map(e => e.dataset.name)")
    assert sorted(outlined) == ["Fanout", "Hop1", "Hop2", "Hop3"]

    with server.client() as client:  # a burst: every trace is pushed, none is lost on the way
        burst = [client.post(f"/echo/n{i}", json={"i": i}).headers["x-trace-id"] for i in range(60)]
    expect(page.locator(".trace")).to_have_count(61)
    expect(page.locator('.trace[data-status="ok"]')).to_have_count(61)
    assert page.locator(".trace").first.get_attribute("data-trace-id") == burst[-1]  # newest first


def test_retried_and_dead_lettered_steps_and_their_log_lines_are_shown(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_RETRY_BACKOFF_SECONDS": "0.3"})
    open_page(page, server.base_url, all_steps=True)
    page.wait_for_selector("#live.live--on")
    (server.data_dir / "flaky-fail-times").write_text("fail\n")  # the first try fails, the retry succeeds
    with server.client() as client:
        flaky = client.post("/fanout", json={"topic": "t.flaky"}).json()["traceId"]
        slow = client.post("/fanout", json={"topic": "t.slow"}).json()["traceId"]
        client.get("/broken/raise")
    open_trace(page, flaky)
    page.wait_for_selector('#trace-detail tr.span[data-outcome="retried"]')
    page.wait_for_selector(f'.trace[data-trace-id="{flaky}"][data-status="ok"]', timeout=20_000)
    wait_until(lambda: [s["outcome"] for s in spans(page)][-1] == "ok", message="the last try to show ok")
    outcomes = [(s["step"], s["outcome"]) for s in spans(page)]
    assert outcomes[0] == ("Fanout", "ok") and outcomes[-1] == ("Flaky", "ok")
    assert ("Flaky", "retried") in outcomes
    assert any("retrying" in m for m in log_messages(page))
    assert any("(try 2)" in s["trigger"] for s in spans(page))

    page.wait_for_selector(f'.trace[data-trace-id="{slow}"][data-status="error"]')
    open_trace(page, slow)
    wait_until(
        lambda: ("Slow", "dead-lettered") in [(s["step"], s["outcome"]) for s in spans(page)],
        message="Slow to show dead-lettered",
    )
    assert any("dead-lettered" in m for m in log_messages(page))

    broken = page.locator(".trace", has_text="GET /broken/raise")
    broken.wait_for()
    assert broken.get_attribute("data-status") == "error"
    broken.click()
    page.wait_for_selector("#trace-detail .log__traceback")
    assert "boom from the fixture" in page.locator("#trace-detail .log__traceback").inner_text()
    assert [(s["step"], s["outcome"], s["trigger"]) for s in spans(page)] == [("Broken", "error", "HTTP 500")]


def test_creating_a_pet_traces_the_feeding_job_the_ai_enricher_and_the_orchestrator(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    names = {s.name for s in load_steps(REPO_ROOT)}
    needed = {"CreatePet", "SetNextFeedingReminder", "AiProfileEnrichment", "PetLifecycleOrchestrator"}
    if not needed <= names:
        pytest.skip(f"pet steps missing: {sorted(needed - names)}")
    server = server_factory(root=REPO_ROOT)
    open_page(page, server.base_url)
    page.wait_for_selector("#live.live--on")
    with server.client() as client:
        response = client.post("/py/pets", json={"name": "Luna", "species": "cat", "ageMonths": 14})
    assert response.status_code == 201, response.text
    trace_id = response.headers["x-trace-id"]
    page.wait_for_selector(f'.trace[data-trace-id="{trace_id}"][data-status="ok"]', timeout=20_000)
    assert "POST /py/pets" in trace_row(page, trace_id).inner_text()
    open_trace(page, trace_id)
    shown = {s["step"]: s for s in spans(page)}
    assert needed <= set(shown), shown
    assert shown["CreatePet"]["trigger"] == "HTTP 201"
    assert all(shown[name]["outcome"] == "ok" for name in needed)
    messages = log_messages(page)
    assert any("Pet created" in m for m in messages), messages
    page.screenshot(path=str(_artifact("pets_flow_with_trace.png")))

    page.set_viewport_size({"width": 1280, "height": 720})  # a narrow panel: long topics wrap
    assert min(header_gaps(page)) >= 6, "the steps table's headers run together"
    assert topic_parts_split(page) == [], "a topic wraps inside one of its parts"


def header_gaps(page: Any) -> list[float]:
    """Room between the texts of each two neighbouring headers of the steps table, in px."""
    return page.evaluate(
        """() => {
          const texts = [...document.querySelectorAll("#trace-detail table.spans th")].filter((th) => th.textContent)
            .map((th) => {
              const r = document.createRange();
              r.selectNodeContents(th);
              return r.getBoundingClientRect();
            });
          return texts.slice(1).map((r, i) => r.left - texts[i].right);
        }"""
    )


def topic_parts_split(page: Any) -> list[str]:
    """The parts of the shown topics (between dots) that are broken over two lines."""
    return page.evaluate(
        """() => [...document.querySelectorAll("#trace-detail .span__trigger")].flatMap((line) =>
          [...line.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).filter((n) => {
            const r = document.createRange(); r.selectNodeContents(n);
            return new Set([...r.getClientRects()].map((rect) => Math.round(rect.top))).size > 1;
          }).map((n) => n.textContent))"""
    )


def test_the_page_of_one_node_shows_live_the_steps_another_node_runs(
    page: Any, server_factory: Callable[..., Server], empty_database_url: str
) -> None:
    """With DATABASE_URL: a request and its chain run on node B, the page is open on node A.

    The database starts empty: the nodes make the fixture project's own tables (its migrations/) as they start."""
    # what reaches A in time came by NOTIFY
    no_poll = {"DATABASE_URL": empty_database_url, "STEPRUNNER_POLL_SECONDS": "3600"}
    a, b = server_factory(root=FIXTURE_ROOT, env=no_poll), server_factory(root=FIXTURE_ROOT, env=no_poll)
    with b.client() as client:
        b_pid = client.get("/__steprunner/health").json()["pid"]
    open_page(page, a.base_url, all_steps=True)
    page.wait_for_selector("#live.live--on")
    with b.client() as client:
        trace_id = client.post("/fanout", json={"topic": "t.hop1"}).json()["traceId"]
    page.wait_for_selector(f'.trace[data-trace-id="{trace_id}"][data-status="ok"]', timeout=20_000)
    open_trace(page, trace_id)
    shown = spans(page)
    assert [s["step"] for s in shown] == ["Fanout", "Hop1", "Hop2", "Hop3"]
    assert all(s["node"].startswith("on ") and s["node"].endswith(f":{b_pid}") for s in shown), shown


def _artifact(name: str) -> Any:
    from tests.web.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name

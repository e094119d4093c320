"""The pages in Chromium when the server has a STAFF_API_KEY: asked for once, then everything works."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from steprunner.testing.waiting import wait_until
from tests.support.server import Server
from tests.web.flow_page import open_page, open_trace, spans, trace_row
from tests.web.test_drag_layout import drag

KEY = "s3cret-staff-key"


def test_the_page_asks_for_the_key_once_and_then_draws_saves_and_streams(
    page: Any, fixture_copy: Path, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=fixture_copy, env={"STAFF_API_KEY": KEY})
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept(KEY)

    page.on("dialog", answer)
    open_page(page, server.base_url, flow="fixture")
    assert prompts == ["This server needs its staff key (STAFF_API_KEY):"]
    page.wait_for_selector("#live.live--on")  # the trace stream is read with the key

    with server.client() as client:
        trace_id = client.post("/fanout", json={"topic": "t.hop1"}).json()["traceId"]
    page.wait_for_selector(f'.trace[data-trace-id="{trace_id}"][data-status="ok"]')
    assert "POST /fanout" in trace_row(page, trace_id).inner_text()
    open_trace(page, trace_id)
    assert [s["step"] for s in spans(page)] == ["Fanout", "Hop1", "Hop2", "Hop3"]

    drag(page, "Echo", 120, 60)  # PUT /__steprunner/positions with the key
    layout = fixture_copy / "motia-workbench.json"
    wait_until(lambda: layout.exists() and json.loads(layout.read_text()), message="the dragged position to be saved")
    expect(page.locator("#flow-status")).to_contain_text("saved Echo")

    page.reload()  # the key is kept for this tab
    page.wait_for_selector("body[data-ready=true]")
    page.goto(f"{server.base_url}/docs")
    expect(page.locator(".opblock")).to_have_count(4)  # the fixture's API steps, from the key-protected document
    assert len(prompts) == 1

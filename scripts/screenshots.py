"""`make screenshots`: the pictures in the README and docs/, taken from the live page.

Starts `steprunner dev` on a fresh store, takes pets in and one through a health check with the
page open (so the traces panel and the pet's timeline stream fill as a user would see them),
and writes docs/flow-view.png at 1440x900. Uses Debian's Chromium, as the browser tests do, and
no network; `make screenshots` installs both and an emoji font (the log lines and timeline
messages carry emoji, which would show as empty boxes without one).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.server import Server, start_server  # noqa: E402
from tests.web.browser import launch  # noqa: E402

DOCS = REPO / "docs"
SIZE = {"width": 1440, "height": 900}
# The scenario waits on the page itself, never by polling the API: every GET would show as a trace.
CHAIN_TIMEOUT_MS = 30_000


def trace_done(page: Any, answer: httpx.Response) -> None:
    """Wait until the request's trace (the whole event chain it set off) shows as ok."""
    answer.raise_for_status()
    trace_id = answer.headers["x-trace-id"]
    page.wait_for_selector(f'.trace[data-trace-id="{trace_id}"][data-status="ok"]', timeout=CHAIN_TIMEOUT_MS)


def watch_timeline(page: Any, pet_id: str) -> None:
    """The Streams panel on the pet's timeline, synced."""
    page.locator('button.stream[data-stream="petTimeline"]').click()
    page.fill("#stream-group", pet_id)
    page.press("#stream-group", "Enter")
    page.wait_for_selector(f'#streams[data-synced="petTimeline/{pet_id}"]')


def item_of_kind(page: Any, kind: str) -> None:
    """Wait until the watched timeline shows an item of this kind."""
    page.wait_for_function(
        "kind => [...document.querySelectorAll('#stream-items tr.stream-item')]"
        ".some(r => JSON.parse(r.dataset.json).kind === kind)",
        arg=kind,
        timeout=CHAIN_TIMEOUT_MS,
    )


def flow_view(server: Server, path: Path) -> None:
    """Two pets taken in, then a health check on the second with the page watching its timeline:
    the check's trace open (its steps outlined in the flow), the items it wrote on top of the stream."""
    with launch() as browser, server.client() as client:
        page = browser.new_page(viewport=SIZE)
        page.goto(f"{server.base_url}/")
        page.wait_for_selector("body[data-ready=true]")
        trace_done(page, client.post("/py/pets", json={"name": "Luna", "species": "cat", "ageMonths": 14}))
        rex = client.post("/py/pets", json={"name": "Rex", "species": "dog", "ageMonths": 30, "weightKg": 21.5})
        trace_done(page, rex)
        pet_id = str(rex.json()["id"])
        watch_timeline(page, pet_id)
        check = client.put(f"/py/pets/{pet_id}", json={"status": "healthy"})
        trace_done(page, check)
        item_of_kind(page, "adoption_posting_written")  # the chain's last word: the pet is up for adoption
        page.locator(f'.trace[data-trace-id="{check.headers["x-trace-id"]}"]').click()
        page.wait_for_selector(f'#trace-detail[data-trace-id="{check.headers["x-trace-id"]}"]')
        page.screenshot(path=str(path))
        page.close()
    print(f"wrote {path.relative_to(REPO)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="screenshots-") as data:
        server = start_server(Path(data))
        try:
            flow_view(server, DOCS / "flow-view.png")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

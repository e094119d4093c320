"""The streams panel: `GET /__steprunner/streams`, and a group's items shown live in Chromium."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.fixtures import STREAMS_FIXTURE_ROOT
from tests.support.server import Server
from tests.web.flow_page import open_page

KEY = "s3cret-staff-key"
PET_STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["available", "pending", "adopted"]},
    },
    "required": ["name", "status"],
}


def test_the_stream_list_names_each_stream_its_file_and_schema_behind_the_staff_key(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(root=STREAMS_FIXTURE_ROOT, env={"STAFF_API_KEY": KEY})
    refused = httpx.get(f"{server.base_url}/__steprunner/streams", timeout=10)
    assert refused.status_code == 401
    with server.client(headers=server.staff_headers) as client:
        answer = client.get("/__steprunner/streams")
    assert answer.status_code == 200
    streams = {s["name"]: s for s in answer.json()["streams"]}
    assert sorted(streams) == ["petStatus", "privateNotes"]
    assert streams["petStatus"] == {
        "name": "petStatus",
        "file": "steps/pet_status_stream.py",
        "schema": PET_STATUS_SCHEMA,
    }
    assert streams["privateNotes"]["file"] == "steps/private_notes_stream.py"


def stream_rows(page: Any) -> dict[str, Any]:
    """Item id -> the item as the page holds it (in `data-json`), in the order shown."""
    rows = page.locator("#stream-items tr.stream-item").evaluate_all(
        "rows => rows.map(r => [r.dataset.id, r.dataset.json])"
    )
    return {item_id: json.loads(text) for item_id, text in rows}


def shown_lines(page: Any) -> list[tuple[str, str]]:
    """(id, the line shown for it), top to bottom."""
    return [
        tuple(row)
        for row in page.locator("#stream-items tr.stream-item").evaluate_all(
            "rows => rows.map(r => [r.dataset.id, r.cells[1].textContent])"
        )
    ]


@pytest.mark.parametrize("key", [None, KEY], ids=["open", "staff-key"])
def test_a_group_s_items_show_live_as_they_are_set_and_deleted(
    page: Any, server_factory: Callable[..., Server], key: str | None
) -> None:
    server = server_factory(root=STREAMS_FIXTURE_ROOT, env={"STAFF_API_KEY": key} if key else None)
    page.on("dialog", lambda dialog: dialog.accept(KEY))  # only asked with a key
    open_page(page, server.base_url)
    expect(page.locator("#stream-list button.stream")).to_have_text(["petStatus", "privateNotes"])

    with server.client(headers=server.staff_headers) as client:
        assert client.put("/streams/shelter-1/rex", json={"name": "Rex", "status": "available"}).status_code == 200
        page.locator('button.stream[data-stream="petStatus"]').click()
        page.fill("#stream-group", "shelter-1")
        page.press("#stream-group", "Enter")
        page.wait_for_selector('#streams[data-synced="petStatus/shelter-1"]')
        page.wait_for_selector('tr.stream-item[data-id="rex"]')  # from the sync

        assert client.put("/streams/shelter-1/mia", json={"name": "Mia", "status": "pending"}).status_code == 200
        assert client.put("/streams/shelter-2/other", json={"name": "Other", "status": "pending"}).status_code == 200
        page.wait_for_selector('tr.stream-item[data-id="mia"]')
        rows = stream_rows(page)
        assert list(rows) == ["mia", "rex"]  # newest first; another group's item is not shown
        assert {k: v for k, v in rows["mia"].items() if k != "_createdAt"} == {"name": "Mia", "status": "pending"}

        assert client.put("/streams/shelter-1/mia", json={"name": "Mia", "status": "adopted"}).status_code == 200
        page.wait_for_function(
            "() => document.querySelector('tr.stream-item[data-id=mia]')?.cells[1].textContent.includes('adopted')"
        )

        assert client.delete("/streams/shelter-1/mia").json()["deleted"]["id"] == "mia"
        page.wait_for_selector('tr.stream-item[data-id="mia"]', state="detached")
    assert list(stream_rows(page)) == ["rex"]
    expect(page.locator("#stream-status")).to_contain_text("1 item")


def test_a_live_change_shows_at_the_top_with_its_message(page: Any, server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=STREAMS_FIXTURE_ROOT)
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, server.base_url)
    with server.client() as client:
        for n in range(8):  # more items than the panel has room for
            item = {"name": f"Pet {n}", "status": "available"}
            assert client.put(f"/streams/shelter-1/pet-{n}", json=item).status_code == 200
        page.locator('button.stream[data-stream="petStatus"]').click()
        page.fill("#stream-group", "shelter-1")
        page.press("#stream-group", "Enter")
        page.wait_for_selector('#streams[data-synced="petStatus/shelter-1"]')
        assert shown_lines(page)[0] == ("pet-7", "name: Pet 7 · status: available")  # no message: its fields

        change = {"name": "Pet 0", "status": "adopted", "message": "Pet 0 went home with the Garcias"}
        assert client.put("/streams/shelter-1/pet-0", json=change).status_code == 200
        page.wait_for_function("() => document.querySelector('#stream-items tr.stream-item')?.dataset.id === 'pet-0'")
    top = page.locator("#stream-items tr.stream-item").first
    assert shown_lines(page)[0] == ("pet-0", "Pet 0 went home with the Garcias")
    assert "is-fresh" in (top.get_attribute("class") or "")
    panel, row = page.locator("#streams").bounding_box(), top.bounding_box()
    assert panel["y"] <= row["y"] and row["y"] + row["height"] <= panel["y"] + panel["height"], (
        "the change is out of sight"
    )
    assert row["y"] + row["height"] <= 720


def test_the_only_stream_is_picked_so_typing_a_group_id_is_enough(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    server = server_factory()  # the pet service: one stream, petTimeline
    with server.client() as client:
        created = client.post("/py/pets", json={"name": "Rex", "species": "dog", "ageMonths": 12})
    assert created.status_code == 201
    pet_id = created.json()["id"]
    open_page(page, server.base_url)
    expect(page.locator("#stream-list button.stream.is-picked")).to_have_text(["petTimeline"])
    expect(page.locator("#stream-status")).to_contain_text("type a group id of petTimeline")
    page.fill("#stream-group", pet_id)
    page.press("#stream-group", "Enter")
    page.wait_for_selector(f'#streams[data-synced="petTimeline/{pet_id}"]')
    page.wait_for_selector("#stream-items tr.stream-item")  # the pet's `created` item, at least

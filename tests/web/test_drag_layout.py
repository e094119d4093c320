"""Dragging a node in Chromium saves its position to motia-workbench.json, in Motia's format.

Both tests run on copies of a project in tmp_path, so the repository's own layout file is
never touched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from steprunner.loader import load_steps
from steprunner.testing.waiting import wait_until
from tests.support.server import REPO_ROOT, Server
from tests.web.flow_page import node_box, open_page


def drag(page: Any, name: str, dx: float, dy: float) -> None:
    box = node_box(page, name)
    x, y = box["x"] + box["width"] / 2, box["y"] + 12  # grab it by its title bar
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def zoom_of(page: Any) -> tuple[float, float]:
    """Screen pixels per motia-workbench.json unit, across and down: the page fits big flows to the
    window (its zoom) and draws one unit of the file as `scale` pixels of its own."""
    world = page.locator("#world")
    zoom = float(world.get_attribute("data-zoom") or 1)
    return zoom * float(world.get_attribute("data-scale-x") or 1), zoom * float(
        world.get_attribute("data-scale-y") or 1
    )


def flow_position(page: Any, name: str) -> tuple[float, float]:
    node = page.locator(f'.node[data-name="{name}"]')
    return float(node.get_attribute("data-x")), float(node.get_attribute("data-y"))


def layout(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else []


def spot(path: Path, flow: str, file: str) -> dict[str, Any] | None:
    entry = next((e for e in layout(path) if e["id"] == flow), None)
    return entry["config"].get(file) if entry else None


def test_dragging_a_node_writes_its_new_place_and_the_page_shows_it_after_a_reload(
    page: Any, fixture_copy: Path, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=fixture_copy)
    path = fixture_copy / "motia-workbench.json"
    assert not path.exists()
    open_page(page, server.base_url, flow="fixture")
    before = node_box(page, "Echo")
    start = server.client().get("/__steprunner/flow", params={"name": "fixture"}).json()
    echo = next(n for n in start["nodes"] if n["name"] == "Echo")
    zoom = zoom_of(page)
    drag(page, "Echo", 180, 120)
    saved = wait_until(
        lambda: spot(path, "fixture", "steps/echo_api_step.py"), message="Echo's position in motia-workbench.json"
    )
    assert saved == {
        "x": pytest.approx(echo["x"] + 180 / zoom[0], abs=3),
        "y": pytest.approx(echo["y"] + 120 / zoom[1], abs=3),
    }
    assert [e["id"] for e in layout(path)] == ["fixture"]
    expect(page.locator("#flow-status")).to_contain_text("saved Echo")
    after = node_box(page, "Echo")
    assert (after["x"] - before["x"], after["y"] - before["y"]) == (
        pytest.approx(180, abs=2),
        pytest.approx(120, abs=2),
    )

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert flow_position(page, "Echo") == (saved["x"], saved["y"])

    page.locator('.node[data-name="Tick"]').click()  # a click is not a move: nothing is written
    assert spot(path, "fixture", "steps/tick_cron_step.py") is None


def test_dragging_a_pets_node_changes_only_that_entry(
    page: Any, tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    if not (REPO_ROOT / "motia-workbench.json").exists() or not any("pets" in s.flows for s in load_steps(REPO_ROOT)):
        pytest.skip("the pets flow or its motia-workbench.json is not there yet")
    root = tmp_path / "project"
    for name in ("steps", "services"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "motia-workbench.json", root / "motia-workbench.json")
    path = root / "motia-workbench.json"
    original = layout(path)
    pets = [s for s in load_steps(root) if "pets" in s.flows]
    target = next(s for s in pets if s.type == "api")
    server = server_factory(root=root)
    open_page(page, server.base_url, flow="pets")
    graph = server.client().get("/__steprunner/flow", params={"name": "pets"}).json()
    node = next(n for n in graph["nodes"] if n["name"] == target.name)
    page.locator(f'.node[data-name="{target.name}"]').scroll_into_view_if_needed()
    zoom = zoom_of(page)
    drag(page, target.name, 90, 45)
    wait_until(
        lambda: (
            spot(path, "pets", target.file) != next(e for e in original if e["id"] == "pets")["config"].get(target.file)
        ),
        message=f"{target.name}'s entry to change",
    )
    moved = spot(path, "pets", target.file)
    assert (moved["x"], moved["y"]) == (
        pytest.approx(node["x"] + 90 / zoom[0], abs=3),
        pytest.approx(node["y"] + 45 / zoom[1], abs=3),
    )
    now = layout(path)
    for before_entry in original:
        after_entry = next(e for e in now if e["id"] == before_entry["id"])
        untouched = {
            k: v for k, v in before_entry["config"].items() if not (before_entry["id"] == "pets" and k == target.file)
        }
        assert {k: v for k, v in after_entry["config"].items() if k in untouched} == untouched
    assert layout(REPO_ROOT / "motia-workbench.json") == original  # the repository's file is left alone

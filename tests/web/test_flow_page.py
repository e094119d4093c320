"""The flow view in a real headless Chromium: one node per step, one labelled arrow per topic link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from steprunner.loader import load_steps
from steprunner.step_config import EventConfig, topic_of
from tests.support.fixtures import FIXTURE_ROOT
from tests.support.server import REPO_ROOT, Server
from tests.web.flow_page import card_layout, drawn_edges, edge_crossings, node_names, node_texts, open_page

# The fixture project's topic links, read off its step files by hand.
FIXTURE_LINKS = {
    ("Fanout", "ListenerA", "t.fanout", "t.fanout", False),
    ("Fanout", "ListenerB", "t.fanout", "t.fanout", False),
    ("Fanout", "Flaky", "t.flaky", "t.flaky", False),
    ("Fanout", "Slow", "t.slow", "t.slow", False),
    ("Fanout", "Hop1", "t.hop1", "chain", False),  # the emit's label
    ("Fanout", "Work", "t.work", "t.work", False),
    ("Hop1", "Hop2", "t.hop2", "t.hop2", False),
    ("Hop2", "Hop3", "t.hop3", "t.hop3", False),
    ("Tick", "ListenerA", "t.fanout", "t.fanout", False),
    ("Tick", "ListenerB", "t.fanout", "t.fanout", False),
    ("Operator", "ListenerA", "t.fanout", "t.fanout", True),  # a noop's virtual emit
    ("Operator", "ListenerB", "t.fanout", "t.fanout", True),
}


def as_links(edges: list[dict[str, Any]]) -> set[tuple[str, str, str, str, bool]]:
    return {(e["source"], e["target"], e["topic"], e["label"], e["virtual"]) for e in edges}


def test_every_step_of_the_fixture_project_is_a_node_and_every_link_an_arrow(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    open_page(page, server.base_url)
    assert page.locator("#flow-select").input_value() == "fixture"  # its only flow comes first
    assert node_names(page) == ["Echo", "Operator", "Tick"]
    assert drawn_edges(page) == []  # the fixture flow's three steps share no topic

    page.select_option("#flow-select", label="(all 14 steps)")
    page.wait_for_selector('.node[data-name="Hop3"]')
    assert node_names(page) == sorted(s.name for s in load_steps(FIXTURE_ROOT))
    edges = drawn_edges(page)
    assert len(edges) == len(FIXTURE_LINKS)
    assert as_links(edges) == FIXTURE_LINKS
    for edge in edges:
        assert (edge["dash"] != "none") == edge["virtual"], edge  # virtual links are dashed, real ones solid

    texts = node_texts(page)
    assert texts["Fanout"].split("\n") == ["api", "Fanout", "POST /fanout"]
    assert texts["Hop2"].split("\n") == ["event", "Hop2", "on t.hop2"]
    assert texts["Tick"].split("\n") == ["cron", "Tick", "cron 0 3 * * *"]
    assert texts["Operator"].split("\n")[:2] == ["noop", "Operator"]
    assert "view=all" in page.url


def expected_links(flow: str) -> set[tuple[str, str, str, str, bool, bool]]:
    """What Motia's Workbench would draw for a flow, worked out from the configs directly."""
    steps = [s for s in load_steps(REPO_ROOT) if flow in s.flows]
    links = set()
    for source in steps:
        emits = [(e, False) for e in getattr(source.config, "emits", None) or []] + [
            (e, True) for e in source.config.virtualEmits or []
        ]
        for emit, virtual_emit in emits:
            topic = topic_of(emit)
            label = getattr(emit, "label", None) or topic
            conditional = bool(getattr(emit, "conditional", False))
            for target in steps:
                real = isinstance(target.config, EventConfig) and topic in target.config.subscribes
                if real or topic in (target.config.virtualSubscribes or []):
                    links.add((source.name, target.name, topic, label, virtual_emit or not real, conditional))
    return links


def test_the_pets_flow_shows_every_pet_step_and_link(page: Any, server_factory: Callable[..., Server]) -> None:
    pet_steps = [s for s in load_steps(REPO_ROOT) if "pets" in s.flows]
    if len(pet_steps) < 2:
        pytest.skip("the pet steps are not there yet")
    server = server_factory(root=REPO_ROOT)
    open_page(page, server.base_url)
    assert page.locator("#flow-select").input_value() == "pets"
    assert node_names(page) == sorted(s.name for s in pet_steps)
    edges = drawn_edges(page)
    assert {
        (e["source"], e["target"], e["topic"], e["label"], e["virtual"], e["conditional"]) for e in edges
    } == expected_links("pets")
    assert len(edges) == len(expected_links("pets"))
    plain = next(e for e in edges if not e["virtual"] and not e["conditional"])
    for edge in edges:
        if edge["conditional"]:
            assert edge["stroke"] != plain["stroke"], "conditional links are drawn in their own colour"
        assert (edge["dash"] != "none") == (edge["virtual"] or edge["conditional"]), edge
    texts = node_texts(page)
    for step in pet_steps:
        c = step.config
        shown = texts[step.name]
        assert step.type in shown.split("\n")[0]
        if step.type == "api":
            assert f"{c.method} {c.path}" in shown  # type: ignore[union-attr]
        elif step.type == "event":
            assert all(f"on {t}" in shown for t in c.subscribes)  # type: ignore[union-attr]
        elif step.type == "cron":
            assert c.cron in shown  # type: ignore[union-attr]


def test_a_big_flow_is_fitted_to_the_window_and_zooms(page: Any, server_factory: Callable[..., Server]) -> None:
    if len([s for s in load_steps(REPO_ROOT) if "pets" in s.flows]) < 2:
        pytest.skip("the pet steps are not there yet")
    server = server_factory(root=REPO_ROOT)
    open_page(page, server.base_url, flow="pets")
    canvas = page.locator("#canvas").bounding_box()
    for name in node_names(page):
        box = page.locator(f'.node[data-name="{name}"]').bounding_box()
        assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"], (
            f"{name} is outside the canvas"
        )
        assert canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"], (
            f"{name} is outside the canvas"
        )
    fitted = float(page.locator("#world").get_attribute("data-zoom"))
    assert fitted < 1
    page.locator("#zoom-in").click()
    assert float(page.locator("#world").get_attribute("data-zoom")) > fitted
    page.locator("#zoom-fit").click()
    assert float(page.locator("#world").get_attribute("data-zoom")) == fitted


SCREENS = [(1280, 720), (1440, 900)]
SMALLEST_TITLE_PX = 11


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def inside(box: dict[str, float], area: dict[str, float]) -> bool:
    return (
        area["x"] <= box["x"]
        and box["x"] + box["width"] <= area["x"] + area["width"]
        and area["y"] <= box["y"]
        and box["y"] + box["height"] <= area["y"] + area["height"]
    )


def pets_flow_or_skip() -> None:
    if len([s for s in load_steps(REPO_ROOT) if "pets" in s.flows]) < 2:
        pytest.skip("the pet steps are not there yet")


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_on_first_load_every_card_is_readable_whole_and_apart(
    page: Any, server_factory: Callable[..., Server], width: int, height: int
) -> None:
    pets_flow_or_skip()
    server = server_factory(root=REPO_ROOT)
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, server.base_url)
    shown = card_layout(page)
    cards = shown["cards"]
    assert len(cards) == len([s for s in load_steps(REPO_ROOT) if "pets" in s.flows])
    smallest = min(cards, key=lambda c: c["title"])
    assert smallest["title"] >= SMALLEST_TITLE_PX, f"{smallest['name']}'s title is {smallest['title']:.1f} px high"
    for card in cards:
        assert inside(card["box"], shown["canvas"]), f"{card['name']} is not wholly inside the canvas"
        assert not overlap(card["box"], shown["legend"]), f"{card['name']} is under the legend"
    for i, a in enumerate(cards):
        for b in cards[i + 1 :]:
            assert not overlap(a["box"], b["box"]), f"{a['name']} and {b['name']} overlap"
    right = max(c["box"]["x"] + c["box"]["width"] for c in cards) - shown["canvas"]["x"]
    assert right >= 0.8 * shown["canvas"]["width"], "the flow leaves the canvas's width unused"
    assert edge_crossings(page) == 0, "arrows of the main chain cross: see the pets layout in motia-workbench.json"


def folded(page: Any, fold: str) -> list[bool]:
    """For each arrow of this fold: whether it is drawn (takes room on the page) now."""
    return page.locator(f'g.edge[data-fold="{fold}"]').evaluate_all("gs => gs.map(g => g.getClientRects().length > 0)")


def test_catch_up_and_staff_links_are_folded_until_their_toggle_shows_them(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    pets_flow_or_skip()
    server = server_factory(root=REPO_ROOT)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_page(page, server.base_url)
    recovery = {(e["source"], e["target"]) for e in drawn_edges(page) if e["fold"] == "recovery"}
    assert ("PetReconciler", "SetNextFeedingReminder") in recovery  # the reconciler's catch-up emits
    assert ("CreatePet", "SetNextFeedingReminder") not in recovery  # the first emit of the chain is not
    assert folded(page, "recovery") and not any(folded(page, "recovery"))
    assert folded(page, "staff") and not any(folded(page, "staff"))
    expect(page.locator("#show-recovery")).to_be_visible()
    expect(page.locator("#show-recovery")).not_to_be_checked()
    tidy = edge_crossings(page)

    page.locator("#show-recovery").check()
    assert all(folded(page, "recovery")) and not any(folded(page, "staff"))
    assert edge_crossings(page) > tidy
    page.locator("#show-staff").check()
    assert all(folded(page, "staff"))
    page.locator("#show-recovery").uncheck()
    page.locator("#show-staff").uncheck()
    assert not any(folded(page, "recovery") + folded(page, "staff"))
    assert edge_crossings(page) == tidy

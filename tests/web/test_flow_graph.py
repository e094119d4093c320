"""The flow graph from step configs: which arrows exist, how they are marked, where nodes go."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from steprunner.loader import Step, load_steps
from steprunner.step_config import parse_config
from steprunner.web.flow import NODE_WIDTH, catch_up_emits, flow_graph, flow_names, links
from tests.support.fixtures import FIXTURE_ROOT


def step(file: str, **config: Any) -> Step:
    return Step(file=file, config=parse_config(config, file), handler=None)


SHELTER = [
    step(
        "steps/staff_step.py",
        type="noop",
        name="Staff",
        virtualEmits=[{"topic": "intake", "label": "Take a pet in"}],
        virtualSubscribes=["adopted"],
        flows=["shelter"],
    ),
    step(
        "steps/create_step.py",
        type="api",
        name="Create",
        path="/pets",
        method="POST",
        emits=["created"],
        virtualSubscribes=["intake"],
        flows=["shelter"],
    ),
    step(
        "steps/check_step.py",
        type="event",
        name="Check",
        subscribes=["created", "retry"],
        emits=[{"topic": "passed", "label": "Healthy"}, {"topic": "retry", "conditional": True}],
        flows=["shelter"],
    ),
    step(
        "steps/adopt_step.py",
        type="event",
        name="Adopt",
        subscribes=["passed"],
        emits=[],
        virtualEmits=["adopted"],
        flows=["shelter"],
    ),
    step(
        "steps/reaper_step.py",
        type="cron",
        name="Reaper",
        cron="0 2 * * *",
        emits=["created"],
        flows=["shelter", "ops"],
    ),
    step("steps/outside_step.py", type="event", name="Outside", subscribes=["created"], emits=[], flows=["other"]),
]


def arrows(steps: list[Step]) -> set[tuple[str, str, str, str, bool, bool]]:
    names = {s.file: s.name for s in steps}
    return {(names[k.source], names[k.target], k.topic, k.label, k.virtual, k.conditional) for k in links(steps)}


def test_every_topic_link_is_an_arrow_marked_virtual_or_conditional_as_declared() -> None:
    shelter = [s for s in SHELTER if "shelter" in s.flows]
    assert arrows(shelter) == {
        ("Staff", "Create", "intake", "Take a pet in", True, False),  # virtual emit to a virtual subscription
        ("Create", "Check", "created", "created", False, False),
        ("Reaper", "Check", "created", "created", False, False),
        ("Check", "Adopt", "passed", "Healthy", False, False),  # the emit's label, not its topic
        ("Check", "Check", "retry", "retry", False, True),  # conditional, and a loop onto itself
        ("Adopt", "Staff", "adopted", "adopted", True, False),
    }


def test_a_flow_holds_only_its_steps_and_their_links() -> None:
    graph = flow_graph(SHELTER, "shelter", {})
    assert sorted(n["name"] for n in graph["nodes"]) == ["Adopt", "Check", "Create", "Reaper", "Staff"]
    assert all("Outside" not in (e["source"], e["target"]) for e in graph["edges"])
    assert flow_names(SHELTER) == ["ops", "other", "shelter"]
    everything = flow_graph(SHELTER, None, {})
    assert len(everything["nodes"]) == len(SHELTER)
    assert ("Create", "Outside", "created", "created", False, False) in arrows(SHELTER)


def test_nodes_carry_what_matters_for_their_type() -> None:
    nodes = {n["name"]: n for n in flow_graph(SHELTER, None, {})["nodes"]}
    assert nodes["Create"]["details"] == ["POST /pets", "on intake (virtual)"]
    assert (nodes["Create"]["method"], nodes["Create"]["path"]) == ("POST", "/pets")
    assert nodes["Check"]["details"] == ["on created", "on retry"]
    assert nodes["Reaper"]["details"] == ["cron 0 2 * * *"] and nodes["Reaper"]["cron"] == "0 2 * * *"
    assert nodes["Staff"]["details"][0].startswith("noop")
    assert nodes["Staff"]["type"] == "noop" and nodes["Staff"]["id"] == "steps/staff_step.py"


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_the_layered_layout_puts_subscribers_below_what_they_listen_to_without_overlaps() -> None:
    steps = load_steps(FIXTURE_ROOT)
    graph = flow_graph(steps, None, {})
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert not any(overlaps(a, b) for a, b in combinations(graph["nodes"], 2))
    assert nodes["Hop1"]["y"] < nodes["Hop2"]["y"] < nodes["Hop3"]["y"]
    assert nodes["Fanout"]["y"] < nodes["ListenerA"]["y"]
    assert all(n["x"] >= 0 and n["y"] >= 0 and n["saved"] is False for n in graph["nodes"])


def test_saved_positions_win_and_unplaced_steps_go_beside_them() -> None:
    saved = {"steps/create_step.py": (500.0, -40.0), "steps/check_step.py": (500.0, 200.0)}
    graph = flow_graph(SHELTER, "shelter", saved)
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert (nodes["Create"]["x"], nodes["Create"]["y"], nodes["Create"]["saved"]) == (500.0, -40.0, True)
    assert (nodes["Check"]["x"], nodes["Check"]["y"]) == (500.0, 200.0)
    for name in ("Staff", "Adopt", "Reaper"):
        assert nodes[name]["saved"] is False
        assert nodes[name]["x"] >= 500.0 + NODE_WIDTH, f"{name} was placed over the arranged nodes"
    assert not any(overlaps(a, b) for a, b in combinations(graph["nodes"], 2))


def test_a_cron_sweep_re_sending_what_others_send_and_its_twins_are_marked_recovery() -> None:
    owed = {"topic": "fed", "label": "Feeding queued again", "conditional": True}
    steps = [
        step("steps/create_step.py", type="api", name="Create", path="/p", method="POST", emits=["fed"], flows=["f"]),
        step("steps/feed_step.py", type="event", name="Feed", subscribes=["fed"], emits=[], flows=["f"]),
        step("steps/sweep_step.py", type="cron", name="Sweep", cron="* * * * *", emits=[owed], flows=["f"]),
        step("steps/restore_step.py", type="api", name="Restore", path="/r", method="POST", emits=[owed], flows=["f"]),
        # a plain daily job sending the same topic is part of the flow, not a recovery
        step("steps/daily_step.py", type="cron", name="Daily", cron="0 3 * * *", emits=["fed"], flows=["f"]),
    ]
    names = {s.file: s.name for s in steps}
    recovery = {(names[k.source], names[k.target]) for k in links(steps) if k.recovery}
    assert recovery == {("Sweep", "Feed"), ("Restore", "Feed")}
    assert ("steps/create_step.py", "fed", None) not in catch_up_emits(steps)
    edges = flow_graph(steps, "f", {})["edges"]
    assert {e["recovery"] for e in edges} == {True, False}  # the page gets the mark with every edge

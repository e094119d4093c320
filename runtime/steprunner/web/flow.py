"""The flow graph the page draws, built from the step configs alone.

A node per step and an edge wherever one step's (virtual) emit is another's (virtual)
subscription, as Motia's Workbench draws them; positions from motia-workbench.json, the rest
placed by the layered layout. What a node and an edge carry (a `recovery` edge is folded away by
default), and why positions are scaled (`WORKBENCH_SCALE`): runtime/docs/web.md.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from steprunner.loader import Step
from steprunner.settings import cron_override_variable
from steprunner.step_config import ApiConfig, CronConfig, EmitSpec, EventConfig, NoopConfig, topic_of
from steprunner.web.layout import COMPONENT_GAP, Box, layered_layout

NODE_WIDTH = 240.0
NODE_HEADER = 34.0  # the name (the type badge sits on the top border)
NODE_LINE = 15.0  # one detail line
# Page pixels per motia-workbench.json unit: Motia's cards (with a description) are about 345 x 190
# units, these 240 x 49-124 pixels.
WORKBENCH_SCALE = {"x": 0.7, "y": 0.4}


@dataclass(frozen=True)
class Link:
    """One arrow: `source` emits `topic`, `target` subscribes to it."""

    id: str
    source: str
    target: str
    topic: str
    label: str
    virtual: bool
    conditional: bool
    recovery: bool


def flow_names(steps: list[Step]) -> list[str]:
    return sorted({flow for step in steps for flow in step.flows})


def steps_in(steps: list[Step], flow: str | None) -> list[Step]:
    """The steps of one flow; every step when `flow` is None (steps need not belong to a flow)."""
    return [s for s in steps if flow is None or flow in s.flows]


def _emits(step: Step) -> list[dict[str, Any]]:
    """Every emit of a step, real then virtual, as `{topic, label, conditional, virtual}`."""
    out = []
    for entries, virtual in (
        (getattr(step.config, "emits", None) or [], False),
        (step.config.virtualEmits or [], True),
    ):
        for emit in entries:
            spec = emit if isinstance(emit, EmitSpec) else None
            out.append(
                {
                    "topic": topic_of(emit),
                    "label": spec.label if spec else None,
                    "conditional": bool(spec and spec.conditional),
                    "virtual": virtual,
                }
            )
    return out


def _subscribes(step: Step) -> list[str]:
    return list(step.config.subscribes) if isinstance(step.config, EventConfig) else []


def details(step: Step) -> list[str]:
    """The lines a node shows under its name."""
    c = step.config
    lines: list[str] = []
    if isinstance(c, ApiConfig):
        lines.append(f"{c.method} {c.path}")
    elif isinstance(c, EventConfig):
        lines += [f"on {topic}" for topic in c.subscribes]
    elif isinstance(c, CronConfig):
        override = os.environ.get(cron_override_variable(step.name))
        lines.append(f"cron {override} (from {cron_override_variable(step.name)})" if override else f"cron {c.cron}")
    elif isinstance(c, NoopConfig):
        lines.append("noop: done outside the code")
    lines += [f"on {topic} (virtual)" for topic in c.virtualSubscribes or []]
    return lines


def node(step: Step) -> dict[str, Any]:
    c = step.config
    lines = details(step)
    data: dict[str, Any] = {
        "id": step.file,
        "file": step.file,
        "name": step.name,
        "type": step.type,
        "description": c.description,
        "flows": step.flows,
        "details": lines,
        "subscribes": _subscribes(step),
        "virtualSubscribes": list(c.virtualSubscribes or []),
        "emits": _emits(step),
        "width": NODE_WIDTH,
        "height": NODE_HEADER + NODE_LINE * max(1, len(lines)),
    }
    if isinstance(c, ApiConfig):
        data.update(method=c.method, path=c.path)
    if isinstance(c, CronConfig):
        data["cron"] = c.cron
    return data


def catch_up_emits(steps: list[Step]) -> set[tuple[str, str, str | None]]:
    """The `(step file, topic, label)` emits that exist for recovery.

    A catch-up sweep is a cron step whose emits are all conditional and all on topics other steps
    of the flow emit too: it re-sends, when something is missing, work that was lost (a process
    killed between a write and its event). Its emits are catch-up emits, and so is another step's
    conditional emit with the same topic and label as one of them: it is catching up the same way,
    as a restore resuming what a pet is still owed.
    """
    real = {s.file: [e for e in _emits(s) if not e["virtual"]] for s in steps}
    senders: dict[str, set[str]] = {}
    for file, emits in real.items():
        for emit in emits:
            senders.setdefault(emit["topic"], set()).add(file)
    sweeps = {
        s.file
        for s in steps
        if s.type == "cron"
        and real[s.file]
        and all(e["conditional"] and senders[e["topic"]] - {s.file} for e in real[s.file])
    }
    labelled = {(e["topic"], e["label"]) for file in sweeps for e in real[file] if e["label"]}
    return {
        (file, e["topic"], e["label"])
        for file, emits in real.items()
        for e in emits
        if file in sweeps or (e["conditional"] and (e["topic"], e["label"]) in labelled)
    }


def links(steps: list[Step]) -> list[Link]:
    """Every topic link among these steps; a real link wins over a virtual one for the same pair and topic."""
    found: dict[tuple[str, str, str], Link] = {}
    recovery = catch_up_emits(steps)
    for source in steps:
        for emit in _emits(source):
            topic = emit["topic"]
            for target in steps:
                real = topic in _subscribes(target)
                if not real and topic not in (target.config.virtualSubscribes or []):
                    continue
                virtual = emit["virtual"] or not real
                key = (source.file, target.file, topic)
                if key in found and not found[key].virtual:
                    continue
                found[key] = Link(
                    id=f"{source.file}->{target.file}#{topic}",
                    source=source.file,
                    target=target.file,
                    topic=topic,
                    label=emit["label"] or topic,
                    virtual=virtual,
                    conditional=emit["conditional"],
                    recovery=(source.file, topic, emit["label"]) in recovery,
                )
    return list(found.values())


def flow_graph(steps: list[Step], flow: str | None, saved: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Nodes (with positions) and edges of one flow, or of every step when `flow` is None."""
    members = steps_in(steps, flow)
    nodes = [node(s) for s in members]
    edges = links(members)
    unplaced = [n for n in nodes if n["id"] not in saved]
    kinds = {n["id"]: n["type"] for n in nodes}
    # the layers follow the main chain: the links the page folds away by default do not pull nodes around
    chain = [(e.source, e.target) for e in edges if not e.recovery and not (e.virtual and kinds[e.source] == "noop")]
    placed = layered_layout([Box(n["id"], n["width"], n["height"]) for n in unplaced], chain)
    arranged = [saved[n["id"]] for n in nodes if n["id"] in saved]
    sx, sy = WORKBENCH_SCALE["x"], WORKBENCH_SCALE["y"]
    shift = max(x for x, _ in arranged) + (NODE_WIDTH + COMPONENT_GAP) / sx if arranged and unplaced else 0.0
    for n in nodes:
        if n["id"] in saved:
            n["x"], n["y"] = saved[n["id"]]
            n["saved"] = True
        else:
            x, y = placed[n["id"]]  # in pixels: into the file's units
            n["x"], n["y"] = round(x / sx + shift, 2), round(y / sy, 2)
            n["saved"] = False
    return {"flow": flow, "nodes": nodes, "edges": [asdict(e) for e in edges], "scale": WORKBENCH_SCALE}

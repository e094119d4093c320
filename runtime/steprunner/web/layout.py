"""Place flow nodes that have no saved position: a layered (Sugiyama) layout from `grandalf`.

A flow reads top to bottom like Motia's Workbench: the steps that start things (APIs, crons,
outside actors) on the first layer, each subscriber below what it listens to. Edges from a
step to itself (the lifecycle orchestrator asks itself for automatic progressions) do not
affect the layers and are left out here. grandalf lays out one connected component at a
time; components go side by side, left to right in the order their first node was given,
starting a new row past MAX_ROW_WIDTH.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

X_SPACE = 60.0  # between nodes on one layer
Y_SPACE = 90.0  # between layers: room for an edge label
COMPONENT_GAP = 120.0
MAX_ROW_WIDTH = 1800.0  # wider than this, the next component starts a new row


@dataclass
class _View:
    """What grandalf needs to know about a node: its size in, its centre out."""

    w: float
    h: float
    xy: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Box:
    """A node to place: its id and its size in pixels (the page draws it exactly this size)."""

    id: str
    width: float
    height: float


def layered_layout(boxes: list[Box], links: Iterable[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Top-left corner of every box, all coordinates >= 0."""
    if not boxes:
        return {}
    vertices = {box.id: Vertex(box.id) for box in boxes}
    for box in boxes:
        vertices[box.id].view = _View(box.width, box.height)
    pairs = sorted({(a, b) for a, b in links if a != b and a in vertices and b in vertices})
    graph = Graph(list(vertices.values()), [Edge(vertices[a], vertices[b]) for a, b in pairs], directed=True)
    order = {box.id: i for i, box in enumerate(boxes)}
    positions: dict[str, tuple[float, float]] = {}
    left, top, row_bottom = 0.0, 0.0, 0.0
    for component in sorted(graph.C, key=lambda c: min(order[v.data] for v in c.sV)):
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = X_SPACE, Y_SPACE
        roots = [v for v in component.sV if not v.e_in()] or [min(component.sV, key=lambda v: order[v.data])]
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
        members = list(component.sV)
        min_x = min(v.view.xy[0] - v.view.w / 2 for v in members)
        min_y = min(v.view.xy[1] - v.view.h / 2 for v in members)
        width = max(v.view.xy[0] + v.view.w / 2 for v in members) - min_x
        height = max(v.view.xy[1] + v.view.h / 2 for v in members) - min_y
        if left > 0 and left + width > MAX_ROW_WIDTH:  # start a new row of components
            left, top = 0.0, row_bottom + COMPONENT_GAP
        for v in members:
            cx, cy = v.view.xy
            positions[v.data] = (round(left + cx - v.view.w / 2 - min_x, 1), round(top + cy - v.view.h / 2 - min_y, 1))
        left += width + COMPONENT_GAP
        row_bottom = max(row_bottom, top + height)
    return positions

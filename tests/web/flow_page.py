"""Reading the flow page the way a person sees it: the drawn nodes and arrows, the traces panel."""

from __future__ import annotations

from typing import Any

Edge = tuple[str, str, str]  # (source step name, target step name, label shown)


def open_page(page: Any, base_url: str, flow: str | None = None, all_steps: bool = False) -> None:
    """Open the page (on its default flow, on `flow`, or on every step) and wait until it is drawn."""
    query = "?view=all" if all_steps else f"?flow={flow}" if flow else ""
    page.goto(f"{base_url}/{query}")
    page.wait_for_selector("body[data-ready=true]")


def node_names(page: Any) -> list[str]:
    return sorted(page.locator(".node").evaluate_all("els => els.map(e => e.dataset.name)"))


def node_texts(page: Any) -> dict[str, str]:
    """Step name -> what its box shows, one line each: type badge, name, detail lines."""
    rows = page.locator(".node").evaluate_all(
        """els => els.map(e => [e.dataset.name, [e.querySelector(".badge"), e.querySelector(".node__name"),
            ...e.querySelectorAll(".node__detail")].map(part => part.textContent).join("\\n")])"""
    )
    return {name: text for name, text in rows}


def drawn_edges(page: Any) -> list[dict[str, Any]]:
    """Every arrow, with the visible label text and the step names at both ends."""
    return page.evaluate(
        """() => {
          const name = (id) => document.querySelector(`.node[data-id="${id}"]`)?.dataset.name;
          return [...document.querySelectorAll("g.edge")].map((g) => ({
            source: name(g.dataset.source), target: name(g.dataset.target),
            label: g.querySelector("text").textContent, topic: g.dataset.topic,
            virtual: g.classList.contains("edge--virtual"), conditional: g.classList.contains("edge--conditional"),
            fold: g.dataset.fold,
            dash: getComputedStyle(g.querySelector("path")).strokeDasharray,
            stroke: getComputedStyle(g.querySelector("path")).stroke,
          }));
        }"""
    )


def node_box(page: Any, name: str) -> dict[str, float]:
    return page.locator(f'.node[data-name="{name}"]').bounding_box()


def trace_row(page: Any, trace_id: str) -> Any:
    return page.locator(f'.trace[data-trace-id="{trace_id}"]')


def open_trace(page: Any, trace_id: str) -> None:
    trace_row(page, trace_id).click()
    page.wait_for_selector(f'#trace-detail[data-trace-id="{trace_id}"]')


def spans(page: Any) -> list[dict[str, str]]:
    """The open trace's steps as shown: name, trigger, start, duration, outcome, node (database mode, else "")."""
    return page.locator("#trace-detail tr.span").evaluate_all(
        """rows => rows.map(r => ({
            step: r.dataset.step, outcome: r.querySelector("td.status").textContent,
            trigger: r.querySelector(".span__trigger").textContent,
            start: r.cells[1].textContent, duration: r.cells[2].textContent,
            node: r.querySelector(".span__node")?.textContent || "" }))"""
    )


def log_messages(page: Any) -> list[str]:
    return page.locator("#trace-detail .log__message").all_inner_texts()


# Every drawn arrow as a polyline (40 points along its SVG path), then every pair of segments of two
# different arrows that properly cross. Crossings within END_ZONE of an arrow's own ends are where
# arrows meet at a shared node, not crossings a reader has to untangle.
_CROSSINGS_JS = """() => {
  const END_ZONE = 14, STEPS = 40;
  const shown = [...document.querySelectorAll("g.edge")].filter((g) => g.getClientRects().length);
  const lines = shown.map((g) => {
    const path = g.querySelector("path.edge__line"), total = path.getTotalLength();
    return Array.from({ length: STEPS + 1 }, (_, i) => path.getPointAtLength((total * i) / STEPS));
  });
  const cross = (p, q, r, s) => {
    const d = (q.x - p.x) * (s.y - r.y) - (q.y - p.y) * (s.x - r.x);
    if (Math.abs(d) < 1e-9) return null;
    const t = ((r.x - p.x) * (s.y - r.y) - (r.y - p.y) * (s.x - r.x)) / d;
    const u = ((r.x - p.x) * (q.y - p.y) - (r.y - p.y) * (q.x - p.x)) / d;
    return t > 0 && t <= 1 && u > 0 && u <= 1 ? { x: p.x + t * (q.x - p.x), y: p.y + t * (q.y - p.y) } : null;
  };
  const nearEnd = (line, pt) =>
    [line[0], line[line.length - 1]].some((e) => Math.hypot(e.x - pt.x, e.y - pt.y) < END_ZONE);
  let count = 0;
  for (let a = 0; a < lines.length; a++) for (let b = a + 1; b < lines.length; b++) {
    const seen = [];
    for (let i = 1; i < lines[a].length; i++) for (let j = 1; j < lines[b].length; j++) {
      const pt = cross(lines[a][i - 1], lines[a][i], lines[b][j - 1], lines[b][j]);
      if (!pt || nearEnd(lines[a], pt) || nearEnd(lines[b], pt)) continue;
      if (seen.some((s) => Math.hypot(s.x - pt.x, s.y - pt.y) < 4)) continue;
      seen.push(pt);
      count++;
    }
  }
  return count;
}"""


def edge_crossings(page: Any) -> int:
    """How many times the arrows drawn now cross one another (hidden arrows do not count)."""
    return page.evaluate(_CROSSINGS_JS)


def card_layout(page: Any) -> dict[str, Any]:
    """What a reader sees of the cards: each one's box and title size on screen, the canvas and legend boxes.

    A title's size is its font size times the zoom it is drawn at, in CSS px.
    """
    return page.evaluate(
        """() => {
          const rect = (e) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          };
          const world = document.getElementById("world");
          const scale = world.getBoundingClientRect().width / world.offsetWidth;
          return {
            canvas: rect(document.getElementById("canvas")),
            legend: rect(document.querySelector(".legend")),
            cards: [...document.querySelectorAll(".node")].map((n) => ({
              name: n.dataset.name, box: rect(n),
              title: parseFloat(getComputedStyle(n.querySelector(".node__name")).fontSize) * scale,
            })),
          };
        }"""
    )

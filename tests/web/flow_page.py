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

"""The PNG next to the table: throughput side by side, the store's growth, the workers.

Log scales throughout: Motia and steprunner differ by two to three orders of magnitude, and the
store sizes by three.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"steprunner": "#2a7ab0", "Motia 0.17": "#d0672f", "bare Starlette": "#8a8a8a"}


def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and not math.isnan(v) and v > 0


def _throughput(ax: Any, compare: dict[str, Any]) -> None:
    lines = [
        ("get_c1", "GET\n1 client"),
        ("get_c32", "GET\n32 clients"),
        ("post_c1", "POST\n1 client"),
        ("post_c32", "POST\n32 clients"),
    ]
    series = {
        "steprunner": compare.get("steprunner", {}),
        "Motia 0.17": compare.get("motia", {}),
        "bare Starlette": compare.get("ceiling", {}),
    }
    width = 0.27
    for i, (name, data) in enumerate(series.items()):
        xs, ys = [], []
        for j, (key, _) in enumerate(lines):
            rps = data.get(key, {}).get("rps") if isinstance(data.get(key), dict) else None
            if _ok(rps):
                xs.append(j + (i - 1) * width)
                ys.append(rps)
        bars = ax.bar(xs, ys, width, label=name, color=COLOURS[name])
        ax.bar_label(bars, labels=[f"{y:,.0f}" if y >= 10 else f"{y:.1f}" for y in ys], fontsize=7, padding=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(lines)), [label for _, label in lines])
    ax.set_ylabel("requests per second (log)")
    ax.set_title("1. Same steps: requests/s")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    chain = [
        (n, compare.get(k, {}).get("chain", {}).get("p50_ms"))
        for n, k in (("steprunner", "steprunner"), ("Motia", "motia"))
    ]
    shown = [f"{n} {v:,.1f} ms" for n, v in chain if _ok(v)]
    if shown:
        ax.set_title(
            "1. Same steps: requests/s\nPOST -> in_quarantine with profile, p50: " + ", ".join(shown), fontsize=10
        )


def _growth(ax: Any, rows: list[dict[str, Any]]) -> None:
    sizes = [r["pets"] for r in rows]
    for op, marker in (("create", "o"), ("update", "s"), ("chain", "^"), ("list", "D"), ("get", "v")):
        ax.plot(sizes, [r[op]["p50_ms"] for r in rows], marker=marker, label=f"{op} p50")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pets in pets.json (log)")
    ax.set_ylabel("ms, one request at a time (log)")
    ax.set_title("2. The store as it grows: latency (p50)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)


def _memory(ax: Any, rows: list[dict[str, Any]]) -> None:
    sizes = [r["pets"] for r in rows]
    ax.plot(sizes, [r["rss_mb"] for r in rows], marker="o", label="server resident memory (MB)")
    ax.plot(sizes, [r["file_mb"] for r in rows], marker="s", label="pets.json (MB)")
    ax.plot(sizes, [r["ready_s"] * 1000 for r in rows], marker="^", label="start to ready (ms)")
    for x, r in zip(sizes, rows):
        ax.annotate(
            f"{r['rss_mb']:,.0f} MB",
            (x, r["rss_mb"]),
            textcoords="offset points",
            xytext=(0, 6),
            fontsize=7,
            ha="center",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pets in pets.json (log)")
    ax.set_title("2. The store as it grows: memory, file, start-up")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)


def _workers(ax: Any, rows: list[dict[str, Any]]) -> None:
    labels = [f"--workers {r['workers']}" for r in rows]
    xs = range(len(rows))
    for offset, key, colour in ((-0.2, "get", "#2a7ab0"), (0.2, "post", "#6bb36b")):
        bars = ax.bar(
            [x + offset for x in xs],
            [r[key]["rps"] for r in rows],
            0.4,
            label=f"{key.upper()} 32 clients",
            color=colour,
        )
        ax.bar_label(bars, labels=[f"{r[key]['rps']:,.0f}" for r in rows], fontsize=7)
    ax.set_xticks(list(xs), labels)
    ax.set_yscale("log")  # POST is ~100x below GET
    ax.set_ylabel("requests per second (log)")
    ax.set_title("3. Workers (2 cores)")
    ax.legend(fontsize=8)


def draw(results: dict[str, Any], path: Path) -> None:
    panels: list[tuple[Any, Any]] = []
    if results.get("compare"):
        panels.append((_throughput, results["compare"]))
    if results.get("growth"):
        panels += [(_growth, results["growth"]), (_memory, results["growth"])]
    if results.get("workers"):
        panels.append((_workers, results["workers"]))
    if not panels:
        return
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 5 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, (draw_panel, data) in zip(flat, panels):
        draw_panel(ax, data)
    for ax in flat[len(panels) :]:
        ax.axis("off")
    m = results["machine"]
    fig.suptitle(
        f"steprunner vs Motia 0.17 on the same steps: {m['cores']} cores, Python {m['python']}, {m['date'][:10]}",
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

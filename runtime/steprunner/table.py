"""Tables for the CLI that fit the terminal: a cell too wide for its share of the screen wraps inside its column.

The width is the terminal's (`COLUMNS` first, as shells set it), or 100 when the output is not a terminal.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

DEFAULT_WIDTH = 100  # a pipe or a file: no terminal to ask
GAP = "  "
MIN_COLUMN = 6  # narrower than this, a column would be unreadable: the line may then run past the width


def terminal_width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def pieces(cell: str) -> list[str]:
    """`cell` cut after each place a reader expects a line to break: a space, a dot, a comma, a slash."""
    return [p for p in re.split(r"(?<=[ .,/_-])", cell) if p]


def column_widths(rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Each column's natural width, the widest narrowed one at a time until the row fits `width`: first
    no narrower than its longest piece (names and words stay whole), then no narrower than MIN_COLUMN."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    budget = width - len(GAP) * (len(widths) - 1)
    whole = [
        max(len(rows[0][i]), *(len(p.rstrip()) for row in rows for p in pieces(row[i]))) for i in range(len(widths))
    ]
    for floor in (whole, [max(MIN_COLUMN, len(header)) for header in rows[0]]):
        while sum(widths) > budget:
            shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=lambda i: widths[i])] -= 1
    return widths


def wrap(cell: str, width: int) -> list[str]:
    """`cell` in lines of at most `width`: at its break places where it can, inside a piece where it must."""
    lines = [""]
    for piece in pieces(cell):
        if len(lines[-1]) + len(piece.rstrip()) > width and lines[-1]:
            lines[-1] = lines[-1].rstrip()
            lines.append("")
        lines[-1] += piece
        while len(lines[-1].rstrip()) > width:  # one piece wider than the column
            lines[-1], rest = lines[-1][:width], lines[-1][width:]
            lines.append(rest)
    return [line.rstrip() for line in lines]


def render(rows: Sequence[Sequence[str]], width: int | None = None, right: frozenset[int] = frozenset()) -> list[str]:
    """The lines of `rows` (the first is the header) in columns; columns in `right` are right-aligned."""
    widths = column_widths(rows, terminal_width() if width is None else width)
    lines = []
    for row in rows:
        cells = [wrap(cell, w) for cell, w in zip(row, widths)]
        for k in range(max(len(c) for c in cells)):
            parts = [c[k] if k < len(c) else "" for c in cells]
            text = GAP.join(p.rjust(w) if i in right else p.ljust(w) for i, (p, w) in enumerate(zip(parts, widths)))
            lines.append(text.rstrip())
    return lines


def elide(text: str, width: int) -> str:
    """`text` cut to `width` characters, with an ellipsis where it was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

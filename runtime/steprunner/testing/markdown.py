"""Reading a project's Markdown as docs tests need it: fenced blocks, links, heading anchors, and
whether a block printed what the page shows under it.

Only what the pages use: fences that open with three backticks at the start of a line, `[text](target)`
and `![alt](target)` links outside code, `#`-headings and explicit `<a id="...">` anchors. A comment line
right above a fence says how a test treats the block: `<!-- not run by tests: REASON -->`, or
`<!-- in a terminal of its own: REASON -->` for a block that keeps running (a server, say) while the
next blocks are pasted in another terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = "```"
NOT_RUN = re.compile(r"^<!--\s*not run by tests:\s*(?P<reason>.+?)\s*-->$")
OWN_TERMINAL = re.compile(r"^<!--\s*in a terminal of its own:\s*(?P<reason>.+?)\s*-->$")
SHELL_LANGUAGES = {"bash", "sh", "shell"}
ELLIPSIS = "…"


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, its text, the line its fence opens on, and the context above it."""

    language: str
    text: str
    line: int  # 1-based line of the opening fence
    heading: str  # the nearest heading above
    not_run: str | None  # the reason given by a `<!-- not run by tests: ... -->` line just above
    own_terminal: str | None = None  # the reason given by a `<!-- in a terminal of its own: ... -->` line


def blocks(markdown: str) -> list[Block]:
    found: list[Block] = []
    lines = markdown.split("\n")
    heading, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(FENCE):
            language = line[len(FENCE) :].strip()
            end = i + 1
            while end < len(lines) and not lines[end].startswith(FENCE):
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: the fenced block never closes")
            above = lines[i - 1].strip() if i > 0 else ""
            marker, own = NOT_RUN.match(above), OWN_TERMINAL.match(above)
            text = "\n".join(lines[i + 1 : end]) + "\n"
            found.append(
                Block(
                    language, text, i + 1, heading, marker["reason"] if marker else None, own["reason"] if own else None
                )
            )
            i = end + 1
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        i += 1
    return found


def _outside_code(markdown: str) -> str:
    """The text without fenced blocks and inline code, which hold no links."""
    kept: list[str] = []
    inside = False
    for line in markdown.split("\n"):
        if line.startswith(FENCE):
            inside = not inside
            continue
        kept.append("" if inside else re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*(?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")


def links(markdown: str) -> list[str]:
    """Every link target in the text (outside code), in order."""
    return [m["target"] for m in LINK.finditer(_outside_code(markdown))]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped, spaces as dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and _ (GitHub keeps _ too)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors a link into this file may name: each heading's (with GitHub's -1, -2 for
    repeats) and every explicit `id="..."` / `name="..."`."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    inside = False
    for line in markdown.split("\n"):
        if line.startswith(FENCE):
            inside = not inside
            continue
        if inside:
            continue
        if re.match(r"^#{1,6} ", line):
            base = slug(line.lstrip("#"))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", line))
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links of one Markdown file that don't resolve: a missing file, or an anchor
    that no heading or explicit id of the target Markdown file gives."""
    problems: list[str] = []
    for target in links(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: {resolved.name} has no heading or id for #{anchor}")
    return problems


def mismatch(expected: str, output: str) -> str | None:
    """Why `output` is not what `expected` shows, or None when it is.

    Line by line, in order: each expected line matches one output line, where `…` stands for any
    text within the line; a line that is `…` alone stands for any number of lines (none included).
    Trailing spaces don't count. Nothing else may be printed.
    """
    want = [line.rstrip() for line in expected.rstrip("\n").split("\n")]
    got = [line.rstrip() for line in output.replace("\r", "").rstrip("\n").split("\n")] if output.strip() else []
    at, skipping = 0, False
    for n, line in enumerate(want, 1):
        if line.strip() == ELLIPSIS:
            skipping = True
            continue
        pattern = re.compile(".*?".join(re.escape(part) for part in line.split(ELLIPSIS)))
        if skipping:
            while at < len(got) and not pattern.fullmatch(got[at]):
                at += 1
        if at >= len(got) or not pattern.fullmatch(got[at]):
            shown = got[at] if at < len(got) else "(nothing more)"
            return f"expected line {n}: {line}\n  output line {at + 1}: {shown}"
        at, skipping = at + 1, False
    if not skipping and at < len(got):
        return f"more output than the page shows, from output line {at + 1}: {got[at]}"
    return None

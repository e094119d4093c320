"""The runtime's import graph: no circles, neither between modules nor between rooms (a wing or a core module).

A room's imports may only run down: a wing that imported the core above it, or two wings that imported
each other, would make the folder stop showing the architecture. TYPE_CHECKING imports count too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import steprunner

PACKAGE = Path(steprunner.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> Iterator[str]:
    """The steprunner modules `path` imports, at any depth of the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != "steprunner":
                yield name


def room(module: str) -> str:
    """`steprunner.journal.sqlite` is in the room `steprunner.journal`; a core module is a room of its own."""
    return ".".join(module.split(".")[:2])


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {m: {t for t in imported(p, modules) if t != m} for m, p in paths.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `edges` as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycle(graph()) is None


def test_rooms_import_only_downwards() -> None:
    rooms: dict[str, set[str]] = {}
    for source, targets in graph().items():
        rooms.setdefault(room(source), set()).update(room(t) for t in targets if room(t) != room(source))
    assert cycle(rooms) is None


def test_no_module_imports_a_private_name_of_another() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                found += [f"{module_name(path)}: {node.module}.{a.name}" for a in node.names if a.name[:1] == "_"]
    assert found == []

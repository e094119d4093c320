"""No two modules of ours import each other, even by a detour: services/, steps/ and the runtime.

Read from the source with `ast`, so every import counts: those under `TYPE_CHECKING` and those
inside functions (a lazy import still ties two modules together). An interface and its
implementations used to import each other (issue 18): the contract now holds the types, each
implementation depends on it alone, and a small factory picks one. Run it as a script for the
numbers: `python -m tests.services.test_no_import_cycles`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "services": REPO_ROOT / "services",
    "steps": REPO_ROOT / "steps",
    "steprunner": REPO_ROOT / "runtime" / "steprunner",
}

Graph = dict[str, set[str]]


def modules() -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its `__init__.py`)."""
    found: dict[str, Path] = {}
    for prefix, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [prefix, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> Iterator[str]:
    """Every dotted name an import in the file may mean (`from a import b` may be module a.b or a name in a)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, base] if base else parents)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> Graph:
    """Module -> the modules of ours it imports (a package's `__init__` seen from inside it does not count)."""
    known = modules()
    graph: Graph = {}
    for name, path in known.items():
        targets = set()
        for target in imported_names(name, path):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_of_ours_imports_itself_by_way_of_others() -> None:
    graph = import_graph()
    assert {"services.store", "services.store_contract", "steprunner.cli"} <= graph.keys(), "the scan found our modules"
    assert cycles(graph) == []


def test_each_store_implementation_depends_on_its_contract_and_not_on_its_factory_or_a_sibling() -> None:
    graph = import_graph()
    for implementation, contract, others in [
        ("services.pet_store_file", "services.store_contract", {"services.store", "services.pet_store_pg"}),
        ("services.pet_store_pg", "services.store_contract", {"services.store", "services.pet_store_file"}),
        ("services.idempotency_file", "services.idempotency_contract", {"services.idempotency_store"}),
        ("services.idempotency_pg", "services.idempotency_contract", {"services.idempotency_store"}),
    ]:
        assert contract in graph[implementation], implementation
        assert not graph[implementation] & (others | {"services.idempotency"}), implementation


if __name__ == "__main__":
    graph = import_graph()
    found = cycles(graph)
    print(
        f"{len(graph)} modules, {sum(map(len, graph.values()))} import arrows (TYPE_CHECKING and lazy imports included)"
    )
    for group in found:
        print("cycle:", " <-> ".join(group))
    print(f"{len(found)} cycles")

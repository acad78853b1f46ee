"""The layers, walked from the source: no import cycles, and each package imports only
the packages below it (imports inside functions count too: they hid cycles before).

    game         pure rules: the standard library and itself
    server       game
    persistence  game, server (the root it lays out and recovers)
    client       game (the bots' equity); the server only starts it as a process
    run_server.py, bench/, tests/: anything
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("game", "server", "persistence", "client")
ALLOWED = {
    "game": {"game"},
    "server": {"game", "server"},
    "persistence": {"game", "server", "persistence"},
    "client": {"game", "client"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def _resolve(target: str, known: set[str]) -> str:
    """``target`` as the longest project module it names, or its top-level name."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return parts[0]


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports, at any depth of its code (the project's modules
    by their full names, anything else by its top-level name)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(_resolve(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:          # "from server import play" is server.play
                out.add(_resolve(f"{base}.{alias.name}", known))
    return out - {name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_no_package_imports_a_layer_above_it():
    wrong = []
    for name, deps in graph().items():
        layer = name.split(".")[0]
        for dep in deps:
            top = dep.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[layer]:
                wrong.append(f"{name} imports {dep}")
    assert not wrong, "\n".join(wrong)


def test_the_rules_import_only_the_standard_library():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    outside = [f"{name} imports {dep}" for name, deps in graph().items()
               if name.split(".")[0] == "game"
               for dep in deps if dep.split(".")[0] not in stdlib | {"game"}]
    assert not outside, "\n".join(outside)


def test_there_is_no_import_cycle():
    edges = {name: {d for d in deps if d in modules()} for name, deps in graph().items()}
    # A package's __init__ re-exporting its modules is not a cycle of theirs.
    for name in edges:
        edges[name] = {d for d in edges[name] if not name.startswith(d + ".")}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("source, found", [
    ("import server.play\n", {"server.play"}),
    ("def f():\n    from server import durable\n", {"server"}),
    ("from . import play\n", {"server.play"}),
])
def test_the_walk_sees_every_kind_of_import(source, found, tmp_path):
    path = tmp_path / "x.py"
    path.write_text(source)
    known = {"server", "server.play", "server.x"}
    assert imports_of("server.x", path, known) >= found

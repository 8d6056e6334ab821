"""The shape of the package, as docs/architecture.md draws it: layers import downwards only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow"
EDGES = ("workflow.__main__", "workflow.cli", "workflow.web", "workflow.demo")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every workflow module ``name`` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    found.add(target)
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_workflow_imports_one_that_imports_it_back() -> None:
    assert cycles(graph()) == []


def test_only_the_cli_imports_the_cli() -> None:
    # ``python -m workflow`` is the CLI's other door.
    offenders = {name: sorted(t for t in targets if t.startswith("workflow.cli"))
                 for name, targets in graph().items()
                 if not name.startswith("workflow.cli") and name != "workflow.__main__"}
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def test_every_demo_step_lives_in_the_demo_package() -> None:
    misplaced = []
    for name, path in modules().items():
        if name == "workflow.demo" or name.startswith("workflow.demo."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("demo_"):
                misplaced.append(f"{name}.{node.name}")
    assert misplaced == []


def layers() -> dict[str, int]:
    """docs/architecture.md's table: each module's layer, by its dotted name."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found: dict[str, int] = {}
    for number, cells in re.findall(r"^\| (\d)\. [^|]+\| (.+) \|$", text, re.M):
        for name in re.findall(r"`([a-z_.]+)`", cells):
            dotted = "workflow" if name == "workflow" else f"workflow.{name}"
            assert dotted not in found, f"{name} is in two layers"
            found[dotted] = int(number)
    return found


def layer_of(name: str, table: dict[str, int]) -> int | None:
    for edge in EDGES:
        if name == edge or name.startswith(edge + "."):
            return table.get(edge)
    return table.get(name)


def test_every_module_is_in_the_architecture_page() -> None:
    table = layers()
    missing = [name for name in modules() if layer_of(name, table) is None]
    assert missing == [], "add them to the table in docs/architecture.md"
    assert set(table) <= set(modules()), "the table names a module that does not exist"


def test_imports_go_only_to_the_same_layer_or_the_ones_below() -> None:
    table = layers()
    wrong = [f"{name} (layer {layer_of(name, table)}) imports {target}"
             f" (layer {layer_of(target, table)})"
             for name, targets in graph().items() for target in sorted(targets)
             if (layer_of(target, table) or 0) > (layer_of(name, table) or 0)]
    assert wrong == []

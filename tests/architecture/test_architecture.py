"""The shape of the package, as docs/architecture.md draws it: wings import downwards only,
and the edges reach the rules through ``actions``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "workflow"


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


WINGS_ROW = re.compile(r"^\| (\d+) \| `([a-z_]+)/?` \| ([^|]+) \|", re.M)
# The wings that hold rules: an edge reaches them only through ``actions``.
RULES = {"places", "orders", "people", "bonds", "intake", "notices"}
EDGE_WINGS = {"runners", "web", "demo", "cli"}


def wings() -> dict[str, tuple[int, set[str]]]:
    """docs/architecture.md's table of rooms: each wing's floor and the modules it lists."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found: dict[str, tuple[int, set[str]]] = {}
    for number, wing, cells in WINGS_ROW.findall(text):
        assert wing not in found, f"{wing} is in the table twice"
        found[wing] = (int(number), set(re.findall(r"`([a-z_]+)`", cells)))
    return found


def wing_of(name: str) -> str:
    """``workflow.orders.terms`` is in the orders wing; the package itself is the core's."""
    parts = name.split(".")
    if len(parts) == 1:
        return "core"
    return "cli" if parts[1] == "__main__" else parts[1]  # ``python -m workflow``: the CLI


def test_the_table_is_read() -> None:
    table = wings()
    assert {"core", "record", "actions", "cli", "web"} <= set(table)
    assert "terms" in table["orders"][1]


def test_every_module_is_in_the_architecture_page() -> None:
    table = wings()
    missing = []
    for name in modules():
        parts = name.split(".")
        wing = wing_of(name)
        leaf = parts[2] if len(parts) > 2 else "__init__"
        if wing not in table or (wing not in EDGE_WINGS | {"actions"} and len(parts) > 2
                                 and leaf not in table[wing][1]):
            missing.append(name)
    assert missing == [], "add them to the table in docs/architecture.md"
    listed = {f"workflow.{wing}.{leaf}" for wing, (_, leaves) in table.items() for leaf in leaves}
    assert listed <= set(modules()), "the table names a module that does not exist"


def test_imports_between_wings_run_only_downwards() -> None:
    table = wings()
    wrong = [f"{name} (floor {table[wing_of(name)][0]}) imports {target}"
             f" (floor {table[wing_of(target)][0]})"
             for name, targets in graph().items() for target in sorted(targets)
             if table[wing_of(target)][0] > table[wing_of(name)][0]]
    assert wrong == []


def test_the_edges_reach_the_rules_only_through_actions() -> None:
    wrong = sorted(f"{name} imports {target}" for name, targets in graph().items()
                   if wing_of(name) in EDGE_WINGS for target in targets
                   if wing_of(target) in RULES)
    assert wrong == [], "call workflow.actions instead"


def test_the_top_level_reads_as_the_domain() -> None:
    entries = [p.name for p in PACKAGE.iterdir()
               if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())]
    assert len(entries) <= 16, sorted(entries)

"""Imports run one way: no logstat module imports a module on a floor above its own, and
no modules import each other round a circle.

The floors are read from docs/development.md ("## Layers"), so the page and the code
cannot drift apart.  Every import counts, also those inside functions (a lazy import
is still an arrow); only `if TYPE_CHECKING:` blocks are left out (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import REPO

Graph = dict[str, set[str]]


def module_names(root: Path) -> dict[str, Path]:
    """logstat's modules by dotted name (a package by its own name), under `root`."""
    found = {}
    for path in sorted((root / "logstat").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The logstat modules `name` imports. `from logstat.cli import app` is logstat.cli.app
    when that is a module, else logstat.cli; relative imports are resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (child.level - 1)]
                    base = ".".join([*parts, *([child.module] if child.module else [])])
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    found.add(submodule if submodule in modules else base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {module for module in found if module in modules and module != name}


def import_graph(root: Path) -> Graph:
    modules = module_names(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def floors_from(page: str) -> list[tuple[str, list[str]]]:
    """The floors, top first: the block under "## Layers" of lines `NAME  PATH PATH ...`."""
    section = page[page.index("## Layers") :]
    block = re.search(r"^```\n(.*?)^```", section, re.S | re.M)
    assert block is not None, "no block of floors under ## Layers"
    floors = []
    for line in block.group(1).splitlines():
        name, *paths = line.split()
        floors.append((name, paths))
    return floors


def floor_of(module: str, floors: list[tuple[str, list[str]]]) -> int | None:
    """The floor (0: the ground) of the most specific path naming the module."""
    path = module.replace(".", "/")
    best: tuple[int, int] | None = None  # (length of the path that named it, floor)
    for height, (_, paths) in enumerate(reversed(floors)):
        for named in paths:
            stem = named.removesuffix(".py").removesuffix("/")
            names_it = path == stem or path.startswith(stem + "/") or stem == f"{path}/__init__"
            if names_it and (best is None or len(stem) > best[0]):
                best = (len(stem), height)
    return None if best is None else best[1]


def upward(graph: Graph, floors: list[tuple[str, list[str]]]) -> list[str]:
    """Every import of a module on a higher floor, and every module on no floor."""
    problems = []
    for module, imported in sorted(graph.items()):
        own = floor_of(module, floors)
        if own is None:
            problems.append(f"{module} is on no floor")
            continue
        for other in sorted(imported):
            theirs = floor_of(other, floors)
            if theirs is not None and theirs > own:
                names = [name for name, _ in reversed(floors)]
                problems.append(f"{module} ({names[own]}) imports {other} ({names[theirs]})")
    return problems


def circles(graph: Graph) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a circle (Tarjan)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                lowest[module] = min(lowest[module], lowest[other])
            elif other in stack:
                lowest[module] = min(lowest[module], index[other])
        if lowest[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def development_page() -> str:
    return (REPO / "docs" / "development.md").read_text(encoding="utf-8")


def test_no_import_runs_back_up() -> None:
    assert upward(import_graph(REPO), floors_from(development_page())) == []


def test_no_import_circle() -> None:
    assert circles(import_graph(REPO)) == []


def test_no_command_module_imports_another() -> None:
    """The commands cli/app.py names share what they share through the library and the
    cli's own helpers (options, messages, progress), never through each other."""
    graph = import_graph(REPO)
    commands = {module for module in graph["logstat.cli.app"] if module.startswith("logstat.cli.")}
    commands -= {"logstat.cli.options", "logstat.cli.messages", "logstat.cli.progress"}
    assert len(commands) >= 9, commands
    crossing = [(module, sorted(graph[module] & commands)) for module in sorted(commands)]
    assert [(module, others) for module, others in crossing if others] == []


def test_every_floor_path_exists() -> None:
    """A floor naming a module that moved would check nothing."""
    for _, paths in floors_from(development_page()):
        for named in paths:
            assert (REPO / named).exists(), f"docs/development.md's floors name {named}"


def test_the_checks_find_an_upward_arrow_and_a_circle(tmp_path: Path) -> None:
    """The checks can fail: a ground module importing the library, two that import each
    other (one inside a function), and an import only for type checking, which counts not."""
    package = tmp_path / "logstat"
    (package / "status").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "status" / "__init__.py").write_text("")
    (package / "errors.py").write_text("def fail():\n    from logstat import library\n")
    (package / "library.py").write_text("import logstat.errors\n")
    (package / "status" / "table.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from logstat.library import x\n"
        "from . import rows\n"
    )
    (package / "status" / "rows.py").write_text("from logstat.status import table\n")
    floors = floors_from(
        "## Layers\n```\napi     logstat/library.py logstat/__init__.py\n"
        "ground  logstat/errors.py logstat/status/\n```\n"
    )
    graph = import_graph(tmp_path)
    assert upward(graph, floors) == ["logstat.errors (ground) imports logstat.library (api)"]
    assert circles(graph) == [
        ["logstat.errors", "logstat.library"],
        ["logstat.status.rows", "logstat.status.table"],
    ]
    assert upward({"logstat.extra": set()}, floors) == ["logstat.extra is on no floor"]

"""The package's architecture, read from its imports (docs/contributing.md, "Architecture").

Each subpackage may import only the groups below it; no module imports itself back through
others (no cycle); the layers that hold rules and state import no web framework; and the
diagram in docs/contributing.md names every group, so the picture cannot go stale. The checks
are functions over an import graph, tested on graphs with a planted cycle and a planted upward
import, then applied to the real one (an AST walk: the imports are read, never run)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Where each package's files are (handlers/ is installed as credmock.handlers).
SOURCES = {"credmock": ROOT / "credmock", "credmock.handlers": ROOT / "handlers"}

# What each group may import, besides itself: the documented direction, lowest first.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "settings": {"core"},
    "store": {"core", "settings"},
    "mail": {"core", "settings", "store"},
    "domain": {"core", "settings", "store"},
    "http": {"core", "settings", "store", "domain"},
    "observe": {"core", "settings", "http"},
    "handlers": {"core", "settings", "domain", "mail", "observe", "http"},
    "app": {"core", "settings", "store", "mail", "domain", "http", "observe", "handlers"},
    "tools": {"core", "settings", "store", "mail", "domain", "http", "observe", "handlers", "app"},
    # The public path of the test helpers, kept for users: it re-exports tools.testing.
    "testing": {"tools"},
    "package": set(),  # credmock/__init__.py
}
# Groups that hold the rules and the state: no web framework in them.
FRAMEWORK_FREE = {"core", "settings", "store", "mail", "domain"}
WEB_FRAMEWORKS = {"connexion", "flask", "werkzeug", "starlette", "uvicorn", "a2wsgi", "asgiref"}

Graph = Mapping[str, set[str]]


def module_files() -> Iterator[tuple[str, Path]]:
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def is_package(module: str, modules: set[str]) -> bool:
    return any(other.startswith(module + ".") for other in modules)


def imports_of(module: str, path: Path, modules: set[str]) -> tuple[set[str], set[str]]:
    """The credmock modules ``module`` imports (anywhere in it, lazily or for type checking
    too: each is a dependency), and the top-level names of the other packages it imports."""
    own: set[str] = set()
    others: set[str] = set()
    package = module if is_package(module, modules) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            name = name.strip(".")
            if name.split(".")[0] != "credmock":
                others.add(name.split(".")[0])
                continue
            # The module itself, else the package it names (``from credmock.core import errors``).
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                own.add(name)
    return own, others


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    files = dict(module_files())
    modules = set(files)
    graph: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for module, path in files.items():
        graph[module], external[module] = imports_of(module, path, modules)
    return graph, external


def group_of(module: str) -> str:
    parts = module.split(".")
    if parts == ["credmock"]:
        return "package"
    return parts[1]


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def upward_imports(graph: Graph) -> list[str]:
    """Each import against the documented direction: ``a -> b (group a may not import group b)``."""
    found = []
    for module, imported in sorted(graph.items()):
        group = group_of(module)
        for name in sorted(imported):
            target = group_of(name)
            if target != group and target not in ALLOWED[group]:
                found.append(f"{module} -> {name} ({group} may not import {target})")
    return found


def framework_imports(external: Graph) -> list[str]:
    return [
        f"{module} imports {name}"
        for module, names in sorted(external.items())
        if group_of(module) in FRAMEWORK_FREE
        for name in sorted(names & WEB_FRAMEWORKS)
    ]


# The checks, on graphs with a planted fault ---------------------------------------------------


def test_a_planted_cycle_is_found() -> None:
    graph = {
        "credmock.mail.outbox": {"credmock.mail.smtp", "credmock.store.base"},
        "credmock.mail.smtp": {"credmock.mail.outbox"},
        "credmock.store.base": set(),
    }
    assert find_cycle(graph) == ["credmock.mail.outbox", "credmock.mail.smtp", "credmock.mail.outbox"]
    graph["credmock.mail.smtp"] = set()
    assert find_cycle(graph) is None


def test_a_planted_upward_import_is_found() -> None:
    graph = {
        "credmock.store.base": {"credmock.core.models", "credmock.mail.outbox"},
        "credmock.domain.passwords": {"credmock.store.base", "credmock.http.security"},
        "credmock.tools.cli": {"credmock.app", "credmock.domain"},
    }
    assert upward_imports(graph) == [
        "credmock.domain.passwords -> credmock.http.security (domain may not import http)",
        "credmock.store.base -> credmock.mail.outbox (store may not import mail)",
    ]


def test_a_planted_framework_import_is_found() -> None:
    external = {"credmock.domain.sessions": {"flask", "dataclasses"}, "credmock.http.cors": {"starlette"}}
    assert framework_imports(external) == ["credmock.domain.sessions imports flask"]


# The real package -------------------------------------------------------------------------------

GRAPH, EXTERNAL = import_graph()


def test_the_graph_is_read() -> None:
    assert "credmock.core.models" in GRAPH["credmock.store.base"]
    assert "credmock.domain" in GRAPH["credmock.handlers.credentials"]
    assert "connexion" in EXTERNAL["credmock.app"]


def test_no_import_cycle() -> None:
    assert find_cycle(GRAPH) is None


def test_every_import_follows_the_documented_direction() -> None:
    assert upward_imports(GRAPH) == []


def test_rules_and_state_import_no_web_framework() -> None:
    assert framework_imports(EXTERNAL) == []


def test_every_group_is_known() -> None:
    assert {group_of(module) for module in GRAPH} <= set(ALLOWED)


def test_the_top_level_stays_small() -> None:
    entries = [path.name for path in (ROOT / "credmock").iterdir() if path.name != "__pycache__"]
    assert len(entries) <= 12, sorted(entries)


@pytest.mark.parametrize(
    "package", sorted(module for module in GRAPH if is_package(module, set(GRAPH))), ids=str
)
def test_every_subpackage_says_what_it_owns_and_may_import(package: str) -> None:
    folder = SOURCES.get(package) or ROOT / "credmock" / Path(*package.split(".")[1:])
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, f"{package}/__init__.py has no docstring"
    if package not in ("credmock", "credmock.core"):
        assert "may import" in docstring.lower(), f"{package}: say what it may import"


def diagram() -> str:
    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    match = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert match, "docs/contributing.md has no Mermaid diagram"
    return match.group(1)


def test_the_diagram_shows_every_group_and_only_allowed_arrows() -> None:
    text = diagram()
    nodes = set(re.findall(r"^\s*(\w+)[\[(]", text, re.M))
    groups = set(ALLOWED) - {"package", "testing"}
    assert groups <= nodes, f"missing from the diagram: {sorted(groups - nodes)}"
    arrows = re.findall(r"^\s*(\w+)\s*-->\s*(\w+)", text, re.M)
    assert arrows, "the diagram draws no import"
    for source, target in arrows:
        assert target in ALLOWED[source], f"the diagram draws {source} --> {target}, which is not allowed"
    reachable = {source: {target for s, target in arrows if s == source} for source, _ in arrows}
    changed = True
    while changed:  # the arrows' transitive closure: what the picture says a group reaches
        changed = False
        for targets in reachable.values():
            more = set().union(*(reachable.get(target, set()) for target in targets)) - targets
            if more:
                targets |= more
                changed = True
    missing = sorted(
        f"{group_of(module)} --> {group_of(name)} ({module} imports {name})"
        for module, names in GRAPH.items()
        for name in names
        if group_of(module) in groups
        and group_of(name) != group_of(module)
        and group_of(name) not in reachable.get(group_of(module), set())
    )
    assert missing == [], "imports the diagram does not show"

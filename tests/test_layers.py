"""One name per action across the layers: each operation's handler calls the domain rule of the
same name (docs/contributing.md, "Adding an operation"), so a reader follows an operation by name."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from credmock.handlers import credentials, mock_api, signup_optin, social, storefront

import credmock.domain as domain_package
from credmock.domain import Domain

# Mock API handlers that read a component of the domain (outbox, clock) rather than call a rule.
READS_A_COMPONENT = {"list_outbox", "get_latest_email", "clear_outbox", "get_clock"}
# Mock API handlers that answer from the process alone, without the domain (liveness).
READS_NOTHING = {"get_liveness"}
HANDLERS = [
    handler
    for module in (credentials, storefront, mock_api, signup_optin, social)
    for handler in module.OPERATIONS.values()
    if handler.__name__ not in READS_A_COMPONENT | READS_NOTHING
]


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda handler: handler.__name__)
def test_handler_calls_the_rule_of_its_name(handler) -> None:
    rule = getattr(Domain, handler.__name__, None)
    assert callable(rule), f"handler {handler.__name__} has no rule Domain.{handler.__name__}"
    source = inspect.getsource(handler)
    assert f"domain.{handler.__name__}(" in source, f"{handler.__name__} does not call its rule"


def test_handler_names_are_unique_across_apis() -> None:
    names = [handler.__name__ for handler in HANDLERS]
    assert len(names) == len(set(names))


# The domain speaks in its own terms: a field is named after the rule's parameter (new_password);
# the handlers name it as the contract does (newPassword) with handlers.fields.wire_names.

SPECS = Path(__file__).resolve().parent.parent / "spec"
DOMAIN = Path(domain_package.__file__).resolve().parent


def wire_field_names() -> set[str]:
    """The contract's property and parameter names that are no Python name of the domain's
    (camelCase: contactEmail, newPassword, expiresIn, ...)."""
    names: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}) if isinstance(node.get("properties"), dict) else ())
            if node.get("in") in ("query", "path", "header") and isinstance(node.get("name"), str):
                names.add(node["name"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for spec in sorted(SPECS.glob("*.yaml")):
        collect(yaml.safe_load(spec.read_text(encoding="utf-8")))
    return {name for name in names if re.search(r"[a-z][A-Z]", name)}


def domain_strings(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a domain module (f-string parts too), docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_wire_names_are_found() -> None:
    assert {"newPassword", "newEmail", "contactEmail", "expiresIn", "refreshToken"} <= wire_field_names()


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda path: path.name)
def test_domain_names_no_wire_field(module: Path) -> None:
    wire = wire_field_names()
    found = [
        f"{module.name}:{line}: {word!r} in {text!r}"
        for line, text in domain_strings(module)
        for word in re.findall(r"[A-Za-z_]+", text)
        if word in wire
    ]
    assert found == [], "name the field as the rule does, and map it in the handler (wire_names)"

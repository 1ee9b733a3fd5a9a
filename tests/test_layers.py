"""One name per action across the layers: each operation's handler calls the domain rule of the
same name (docs/contributing.md, "Adding an operation"), so a reader follows an operation by name."""

from __future__ import annotations

import inspect

import pytest
from credmock.handlers import credentials, mock_api, storefront

from credmock.domain import Domain

# Mock API handlers that read a component of the domain (outbox, clock) rather than call a rule.
READS_A_COMPONENT = {"list_outbox", "get_latest_email", "clear_outbox", "get_clock"}
HANDLERS = [
    handler
    for module in (credentials, storefront, mock_api)
    for handler in module.OPERATIONS.values()
    if handler.__name__ not in READS_A_COMPONENT
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

"""The load scenarios, as data: each is defined once here and run by either load generator
(``scenario.lua`` under wrk, or :mod:`bench.load`'s Python driver when wrk is absent).

A scenario is a cycle of requests each connection repeats. Strings are templates: ``$name``
is replaced by a variable (``$n`` is the connection's number from 1, ``$cycle`` the cycle's
number from 1, ``$token`` the bearer token of the server under test, the scenario's own
``variables`` in order, and a value an earlier step captured from its answer: the string
field ``capture`` of the JSON body, kept as ``$<capture_as>``). An answer with another status
than ``expect`` counts as wrong and restarts the cycle.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from string import Template

TENANT = "demo"
UNKNOWN_EMAIL = "nobody@example.com"  # no customer has it: the reset answers 204, no email
FLOW_PASSWORD = "bench-flow-pass"
JSON_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer $token"}


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    expect: int
    body: str | None = None
    capture: str | None = None  # a string field of the JSON answer ...
    capture_as: str | None = None  # ... kept as this variable
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    variables: tuple[tuple[str, str], ...] = ()  # (name, template), expanded in order
    # Run once per connection before the load, by the bench itself (say, customers to reset).
    setup: tuple[Step, ...] = ()
    # Which servers can run it: a stateless mock has no outbox and no login.
    stateful_only: bool = False

    @property
    def static(self) -> bool:
        """Whether every request is the same (one step, nothing that changes per cycle)."""
        templates = [
            text for step in self.steps for text in (step.path, step.body or "", *step.headers.values())
        ]
        templates += [template for _, template in self.variables]
        return len(self.steps) == 1 and not any("$cycle" in text for text in templates)

    def expand(self, template: str, values: dict[str, str]) -> str:
        return Template(template).safe_substitute(values)

    def values(self, connection: int, cycle: int, token: str) -> dict[str, str]:
        values = {"n": str(connection), "cycle": str(cycle), "token": token, "tenant": TENANT}
        for name, template in self.variables:
            values[name] = self.expand(template, values)
        return values


def capture(field_name: str, body: bytes | str) -> str | None:
    """The value of the first string field ``field_name`` in a JSON text (the Lua script's pattern)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = re.search(rf'"{re.escape(field_name)}"\s*:\s*"([^"]+)"', text)
    return found.group(1) if found else None


RESET = Scenario(
    name="reset",
    description="POST /customer/demo/password/reset, a valid anonymous token, an unknown email: 204",
    steps=(Step("POST", "/customer/$tenant/password/reset", 204, body=json.dumps({"email": UNKNOWN_EMAIL})),),
)

FLOW = Scenario(
    name="flow",
    description="a complete password reset: request, read the emailed token, reset, log in",
    variables=(
        ("email", "bench-flow-$n@example.com"),
        ("email_query", "bench-flow-$n%40example.com"),
        ("password", "flow-pass-$n-$cycle"),
    ),
    setup=(
        Step(
            "POST",
            "/_mock/tenants/$tenant/customers",
            201,
            body='{"email": "$email", "password": "' + FLOW_PASSWORD + '"}',
        ),
    ),
    steps=(
        Step("POST", "/customer/$tenant/password/reset", 204, body='{"email": "$email"}'),
        Step(
            "GET",
            "/_mock/outbox/latest?kind=password-reset&to=$email_query",
            200,
            capture="token",
            capture_as="reset_token",
        ),
        Step(
            "POST",
            "/customer/$tenant/password/reset/update",
            204,
            body='{"token": "$reset_token", "password": "$password"}',
        ),
        Step("POST", "/customer/$tenant/login", 200, body='{"email": "$email", "password": "$password"}'),
    ),
    stateful_only=True,
)
SCENARIOS = {scenario.name: scenario for scenario in (RESET, FLOW)}


def lua_table(scenario: Scenario) -> str:
    """The scenario as a Lua chunk returning a table, read by ``scenario.lua``."""

    def text(value: str | None) -> str:
        return "nil" if value is None else "[==[" + value + "]==]"

    def step(item: Step) -> str:
        headers = ", ".join(f"{{{text(name)}, {text(value)}}}" for name, value in item.headers.items())
        return (
            f"{{method = {text(item.method)}, path = {text(item.path)}, expect = {item.expect}, "
            f"body = {text(item.body)}, capture = {text(item.capture)}, "
            f"capture_as = {text(item.capture_as)}, "
            f"headers = {{{headers}}}}}"
        )

    variables = ", ".join(f"{{{text(name)}, {text(template)}}}" for name, template in scenario.variables)
    steps = ",\n    ".join(step(item) for item in scenario.steps)
    return (
        f"return {{\n  tenant = {text(TENANT)}, static = {str(scenario.static).lower()},\n"
        f"  variables = {{{variables}}},\n"
        f"  steps = {{\n    {steps}\n  }}\n}}\n"
    )

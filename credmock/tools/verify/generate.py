"""Negative probes derived from the contract, deterministically: for every operation, each
required field missing, each field of the wrong type, each string bound crossed, a body that is
not JSON or not an object, each required query parameter missing or empty, and each wrong
credential (none, malformed, of the wrong kind, of another tenant).

Each case is named after what it breaks, so a gate's report reads the same on every run and a
failure can be replayed. (Libraries that generate from a schema, hypothesis-jsonschema and
schemathesis, draw random valid or invalid instances; a release gate wants the enumerable list,
bounded by ``--max-generated``, the same run after run.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Any

from credmock.tools.verify.model import Operation

MALFORMED_JSON = b'{"email": '
# The credential a case sends (the runner turns it into a token).
NO_TOKEN, BAD_TOKEN, OWN_TOKEN, WRONG_KIND_TOKEN, OTHER_TENANT_TOKEN = (
    "none",
    "malformed",
    "own",
    "wrong kind",
    "other tenant",
)
FILLER = "credmock-verify"


@dataclass(frozen=True)
class NegativeCase:
    """A request the operation must refuse: body (a dict to send as JSON, raw bytes, or None for
    the operation's valid one) and query (replacing the valid query)."""

    label: str
    token: str = OWN_TOKEN
    body: dict[str, Any] | list[Any] | bytes | None = None
    query: dict[str, str] | None = None
    drop_body: bool = False


def example(schema: dict[str, Any], name: str = "") -> Any:
    """A value the schema accepts: for an object, only its required properties."""
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, name)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: example(properties.get(key, {}), key) for key in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    text = f"{FILLER}-{name}" if name else FILLER
    if "email" in name.lower():
        text = f"{FILLER}-unknown@example.com"
    if high is not None and len(text) > high:
        text = "x" * high
    return text + "x" * max(0, low - len(text))


def wrong_value(schema: dict[str, Any]) -> tuple[str, Any]:
    """A value of another JSON type than the schema's, and that type's name."""
    kind = schema.get("type", "object" if "properties" in schema else "string")
    return {
        "string": ("integer", 12345),
        "integer": ("string", "not-a-number"),
        "number": ("string", "not-a-number"),
        "boolean": ("string", "yes"),
        "array": ("string", "not-a-list"),
        "object": ("string", "not-an-object"),
    }.get(kind, ("object", {"unexpected": True}))


def declared_properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        properties.update(declared_properties(part))
    return properties


def _required(schema: dict[str, Any]) -> list[str]:
    return [*schema.get("required", []), *chain.from_iterable(_required(p) for p in schema.get("allOf", []))]


def body_cases(
    schema: dict[str, Any], base: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) for every field: missing when required, of the wrong type, bounds crossed;
    the fields of nested objects get the same, under their dotted name (an object ``base`` lacks
    is sent with its required fields only, and the one field broken)."""
    properties = declared_properties(schema)
    for name in _required(schema):
        if name in base:
            yield f"missing required {prefix}{name}", {k: v for k, v in base.items() if k != name}
    for name, sub in properties.items():
        if sub.get("readOnly"):
            continue
        type_name, value = wrong_value(sub)
        yield f"{prefix}{name} of type {type_name}", {**base, name: value}
        kind = sub.get("type", "string")
        if kind == "string" and sub.get("minLength", 0) > 0:
            low = sub["minLength"]
            yield f"{prefix}{name} shorter than {low}", {**base, name: "x" * (low - 1)}
        if kind == "string" and "maxLength" in sub:
            high = sub["maxLength"]
            yield f"{prefix}{name} longer than {high}", {**base, name: "x" * (high + 1)}
        if sub.get("properties") or sub.get("allOf"):  # an object: its fields too, in the valid one
            inner = base.get(name)
            inner = inner if isinstance(inner, dict) else example(sub, name)
            for label, nested in body_cases(sub, inner, f"{prefix}{name}."):
                yield label, {**base, name: nested}


def negative_cases(operation: Operation, base_body: Any, base_query: dict[str, str]) -> list[NegativeCase]:
    """Every negative case of the operation, credentials first, then the query, then the body."""
    cases: list[NegativeCase] = []
    if operation.secured:
        cases += [NegativeCase("no token", NO_TOKEN), NegativeCase("malformed token", BAD_TOKEN)]
        if operation.needs_customer_token:
            cases.append(NegativeCase("anonymous token where a customer token is needed", WRONG_KIND_TOKEN))
        cases.append(NegativeCase("token of another tenant", OTHER_TENANT_TOKEN))
    for parameter in operation.parameters:
        if parameter.location != "query" or parameter.name not in base_query:
            continue
        if parameter.required:
            query = {k: v for k, v in base_query.items() if k != parameter.name}
            cases.append(NegativeCase(f"missing required query {parameter.name}", query=query))
        if parameter.schema.get("minLength", 0) > 0:
            cases.append(
                NegativeCase(f"empty query {parameter.name}", query={**base_query, parameter.name: ""})
            )
    if operation.body_schema is not None:
        cases.append(NegativeCase("malformed JSON body", body=MALFORMED_JSON))
        cases.append(NegativeCase("body an array, not an object", body=[]))
        if operation.body_required:
            cases.append(NegativeCase("no body", drop_body=True))
        base = base_body if isinstance(base_body, dict) else {}
        cases += [NegativeCase(label, body=body) for label, body in body_cases(operation.body_schema, base)]
    return cases


def bounded(per_operation: list[list[NegativeCase]], limit: int | None) -> list[list[NegativeCase]]:
    """At most ``limit`` cases in all, taken round-robin so every operation keeps its first ones."""
    if limit is None:
        return per_operation
    kept: list[list[NegativeCase]] = [[] for _ in per_operation]
    taken = 0
    for row in zip_longest(*per_operation):
        for index, case in enumerate(row):
            if case is not None and taken < limit:
                kept[index].append(case)
                taken += 1
    return kept

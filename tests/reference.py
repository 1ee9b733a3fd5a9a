"""Emporix's own OpenAPI document (the reference credmock follows, kept beside the repository in
``../shared/reference/``, or where ``CREDMOCK_REFERENCE`` points): the statuses each of its
operations declares and its response schemas, for checking credmock's answers against the real
service's contract, not only against credmock's own specs.

The statuses credmock answers beyond the reference on purpose are those docs/storefront.md lists
under "Statuses beyond the reference": read from there, so the documentation and the tests agree.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from credmock.tools.contract import ContractChecker

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_ENV = "CREDMOCK_REFERENCE"
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "emporix-customer-management-api.yml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def reference_path() -> Path:
    return Path(os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE)


@functools.cache
def reference_spec() -> dict[str, Any] | None:
    """The reference document; None where it is not on this machine."""
    path = reference_path()
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def reference_checker() -> ContractChecker | None:
    """A checker of the reference, for answers from any host: the servers its operations name
    are kept as paths (as :class:`ContractChecker` does with the document's own), and the one
    schema the real service contradicts is read as the service answers (docs/storefront.md,
    "Logging in: initialPassword": the schema says string, the service and its example a
    boolean)."""
    spec = copy.deepcopy(reference_spec())
    if spec is None:
        return None
    for item in spec["paths"].values():
        for node in [item, *(item.get(method, {}) for method in HTTP_METHODS)]:
            if "servers" in node:
                node["servers"] = [{"url": urlsplit(server["url"]).path or "/"} for server in node["servers"]]
    for schema in spec["components"]["schemas"].values():
        for part in [schema, *schema.get("allOf", [])]:
            initial_password = part.get("properties", {}).get("initialPassword")
            if initial_password is not None:
                initial_password["type"] = "boolean"
    return ContractChecker(spec)


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


@functools.cache
def _reference_operations() -> tuple[tuple[str, re.Pattern[str], str, frozenset[int]], ...]:
    """(method, path pattern, path template, declared statuses) of each reference operation."""
    spec = reference_spec() or {"paths": {}}
    found = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                statuses = frozenset(int(status) for status in operation["responses"] if status.isdigit())
                found.append((method.upper(), _template_pattern(template), template, statuses))
    return tuple(found)


def reference_operation(method: str, url: str) -> tuple[str, frozenset[int]] | None:
    """The reference's path template and declared statuses for a request; None when the reference
    has no such operation (a mock API call, a ``PUT`` beyond it)."""
    path = urlsplit(url).path
    for known_method, pattern, template, statuses in _reference_operations():
        if known_method == method.upper() and pattern.match(path):
            return template, statuses
    return None


@functools.cache
def documented_exceptions() -> dict[tuple[str, str], frozenset[int]]:
    """(method, path template) -> statuses credmock answers beyond the reference on purpose, as
    docs/storefront.md lists them."""
    text = (ROOT / "docs" / "storefront.md").read_text(encoding="utf-8")
    section = text.split("### Statuses beyond the reference", 1)[1].split("\n## ", 1)[0]
    exceptions: dict[tuple[str, str], frozenset[int]] = {}
    for method, template, status in re.findall(r"^\| `(\w+) ([^`]+)` \| (\d{3}) \|", section, re.M):
        key = (method, template)
        exceptions[key] = exceptions.get(key, frozenset()) | {int(status)}
    return exceptions


def undeclared_status(method: str, url: str, status: int) -> str | None:
    """Why ``status`` is not one the reference declares for the request's operation (and not a
    documented exception); None when it is, or the reference has no such operation."""
    found = reference_operation(method, url)
    if found is None:
        return None
    template, declared = found
    allowed = declared | documented_exceptions().get((method.upper(), template), frozenset())
    if status in allowed:
        return None
    return (
        f"{method.upper()} {template} answered {status}; the reference declares "
        f"{', '.join(map(str, sorted(declared)))}"
    )

"""Reading request bodies at the edge: required strings, booleans and numbers by their wire names,
or one 400 in the contract's shape naming each problem. The domain gets plain values."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from credmock.core import exceptions as errors


def require_texts(**fields: Any) -> tuple[str, ...]:
    """Required string fields of a request body, in the order given, or one 400 naming each problem."""
    problems = []
    for field, value in fields.items():
        if value is None or value == "":
            problems.append(errors.FieldProblem(field, "missing_value", f"'{field}' is required."))
        elif not isinstance(value, str):
            problems.append(errors.FieldProblem(field, "invalid_type", f"'{field}' must be a string."))
    if problems:
        raise errors.ValidationFailed(" ".join(problem.message for problem in problems), problems)
    return tuple(fields.values())


def require_text(value: Any, field: str) -> str:
    """A required string field of a request body, or a 400 naming it."""
    return require_texts(**{field: value})[0]


def optional_text(value: Any, field: str) -> str | None:
    """An optional string field: None when absent, else it must be a non-empty string."""
    return None if value is None else require_text(value, field)


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed.for_field(field, "invalid_type", f"'{field}' must be a boolean.")
    return value


def bounded_number(value: Any, field: str, minimum: float, maximum: float, why: str) -> Any:
    """A number within [minimum, maximum] (the contract already checked its type), else a 400."""
    if value is not None and not minimum <= value <= maximum:
        raise errors.ValidationFailed.for_field(
            field, "invalid_value", f"'{field}' must be between {minimum:.0f} and {maximum:.0f} {why}."
        )
    return value


@contextmanager
def wire_names(**domain_names: str) -> Iterator[None]:
    """The errors a rule raises inside name the request's fields as the wire does. The domain
    names a field after its own parameter (``new_password``), the contract in its own way
    (``newPassword``): ``with wire_names(newPassword="new_password"): domain.rule(...)``.
    Details, messages (where the field is quoted) and the logged reason are renamed."""
    try:
        yield
    except errors.ApiError as error:
        rename_fields(error, {domain: wire for wire, domain in domain_names.items()})
        raise


def rename_fields(error: errors.ApiError, names: dict[str, str]) -> None:
    def quoted(text: str) -> str:
        for domain, wire in names.items():
            text = text.replace(f"'{domain}'", f"'{wire}'")
        return text

    error.message = quoted(error.message)
    error.details = [
        dataclasses.replace(
            detail, field=names.get(detail.field, detail.field), message=quoted(detail.message)
        )
        for detail in error.details
    ]
    reason = error._reason  # the reason given where the error was decided
    if reason:
        for domain, wire in names.items():
            reason = re.sub(rf"^{re.escape(domain)}:", f"{wire}:", reason)
        error._reason = reason

"""Email addresses: the one place that checks and normalises them, and derives the key an
account is found by.

The real service accepts any syntactically valid address, including the special-use names
test suites use (``dev@shop.test``, ``x@localhost``, ``a@example.com``). email-validator checks
syntax well but always refuses special-use names (``SPECIAL_USE_DOMAIN_NAMES``, changeable only
process-wide, which would change it for the application under test too); so an address under
such a name is checked with ``test``, the one name the library lets through in test
environments, standing in for it: same syntax, same normalisation.
"""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email

from credmock.core import exceptions as errors

# Syntax only: no DNS, no "globally deliverable" rules (a dotless ``localhost`` is fine).
_SYNTAX_ONLY = {"check_deliverability": False, "globally_deliverable": False, "test_environment": True}
_STAND_IN = "test"


def _special_use_suffix(domain: str) -> str | None:
    """The special-use name ``domain`` is or lies under, as written in ``domain``; None if none."""
    lowered = domain.lower()
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if lowered == name or lowered.endswith("." + name):
            return domain[len(domain) - len(name) :]
    return None


def normalised(email: str) -> str:
    """The normalised address (NFC, lowercase domain) or :class:`EmailNotValidError`."""
    local, at, domain = email.rpartition("@")
    suffix = _special_use_suffix(domain) if at else None
    if suffix is None:
        return validate_email(email, **_SYNTAX_ONLY).normalized
    stand_in = f"{local}@{domain[: len(domain) - len(suffix)]}{_STAND_IN}"
    return validate_email(stand_in, **_SYNTAX_ONLY).normalized[: -len(_STAND_IN)] + suffix.lower()


def normalise_email(email: str, field: str) -> str:
    """The normalised address, checked for syntax only, or a 400 naming ``field``."""
    try:
        return normalised(email)
    except EmailNotValidError as error:
        raise errors.ValidationFailed.for_field(
            field, "invalid_format", f"'{field}' is not a valid email address: {error}"
        ) from None


def email_key(email: str) -> str:
    """The key an account is found by: two spellings of one address (case, Unicode forms) give
    the same key. Any string has a key, so a lookup of an invalid address simply finds nothing.

    An ASCII address without IDNA labels normalises to itself with a lowercase domain, so its
    key is its casefold: the lookups of logins and reset requests skip the parser (75 µs)."""
    if email.isascii() and "xn--" not in email.lower():
        return email.casefold()
    try:
        return normalised(email).casefold()
    except EmailNotValidError:
        return email.casefold()


def same_email(first: str, second: str) -> bool:
    return email_key(first) == email_key(second)

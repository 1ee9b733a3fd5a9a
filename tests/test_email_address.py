"""Email addresses: syntax checked as the real service does, one key per address."""

from __future__ import annotations

import unicodedata

import pytest

from credmock.core import exceptions as errors
from credmock.core.email_address import email_key, normalise_email, same_email


@pytest.mark.parametrize(
    ("email", "normalised"),
    [
        ("dev@shop.test", "dev@shop.test"),
        ("a@example.com", "a@example.com"),
        ("x@localhost", "x@localhost"),
        ("X@Build.LOCALHOST", "X@build.localhost"),
        ("qa@intranet.local", "qa@intranet.local"),
        ("ops@host.invalid", "ops@host.invalid"),
    ],
)
def test_special_use_email_domains_are_accepted_and_normalised(email, normalised):
    assert normalise_email(email, "email") == normalised


@pytest.mark.parametrize("email", ["x@", "@localhost", "a..b@localhost", "x@-bad.test", "x y@shop.test"])
def test_invalid_address_is_refused_naming_the_field(email):
    with pytest.raises(errors.ValidationFailed) as raised:
        normalise_email(email, "newEmail")
    assert [detail.field for detail in raised.value.details] == ["newEmail"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("a@xn--bcher-kva.de", "a@BÜCHER.de"),
        (unicodedata.normalize("NFD", "zoë@example.com"), "Zoë@example.com"),
        ("X@LOCALHOST", "x@localhost"),
    ],
    ids=["case", "idna", "unicode-forms", "special-use"],
)
def test_spellings_of_one_address_have_one_key(first, second):
    assert email_key(first) == email_key(second)
    assert same_email(first, second)


def test_different_addresses_have_different_keys():
    assert not same_email("alice@example.com", "alice@example.org")
    assert email_key("not an address") == "not an address"

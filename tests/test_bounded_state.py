"""Bounded state: however long the mock runs, spent and expired email tokens, long-expired access
tokens and old emails are dropped from the store. Driven through the domain with a fixed,
advanced clock, over each store."""

from __future__ import annotations

import pytest

from credmock.app import build_domain
from credmock.core import exceptions as errors
from credmock.domain import Domain
from credmock.domain.purging import EXPIRED_TOKEN_MEMORY, PURGE_INTERVAL
from credmock.settings import Settings
from tests.conftest import ALICE, BOB, TENANT
from tests.stores import STORES

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def settings() -> Settings:
    return Settings(seed=11, clock_start=START, outbox_capacity=5)


@pytest.fixture(params=STORES)
def domain(request: pytest.FixtureRequest, settings: Settings, store_urls) -> Domain:
    import dataclasses

    domain = build_domain(dataclasses.replace(settings, state=store_urls(request.param), reset_on_start=True))
    request.addfinalizer(domain.close)
    return domain


def reset_tokens(domain: Domain, *emails: str) -> list[str]:
    tokens = []
    for email in emails:
        domain.request_reset_password(TENANT, email)
        tokens.append(domain.outbox.latest(to=email).token)
    return tokens


def test_purge_drops_expired_email_tokens(domain: Domain, settings: Settings) -> None:
    tokens = reset_tokens(domain, ALICE["email"], BOB["email"])
    assert all(domain.store.email_token(token) for token in tokens)

    domain.advance_clock(settings.password_reset_token_lifetime)
    domain.purge_expired()

    assert [domain.store.email_token(token) for token in tokens] == [None, None]


def test_purge_keeps_email_tokens_still_valid(domain: Domain, settings: Settings) -> None:
    (token,) = reset_tokens(domain, ALICE["email"])

    domain.advance_clock(settings.password_reset_token_lifetime - 1)
    domain.purge_expired()

    assert domain.store.email_token(token) is not None
    domain.reset_password(TENANT, token, "still-valid-1")


def test_reset_password_spent_token_is_dropped_at_once(domain: Domain) -> None:
    (token,) = reset_tokens(domain, ALICE["email"])

    domain.reset_password(TENANT, token, "brand-new-1")

    assert domain.store.email_token(token) is None


def test_request_reset_password_repeated_keeps_one_token_per_customer(domain: Domain) -> None:
    tokens = [reset_tokens(domain, ALICE["email"])[0] for _ in range(20)]

    assert [token for token in tokens if domain.store.email_token(token)] == tokens[-1:]


def test_purge_drops_access_tokens_long_expired(domain: Domain, settings: Settings) -> None:
    anonymous = [domain.anonymous_login(TENANT) for _ in range(50)]
    customer = domain.customer_token(TENANT, ALICE["email"])  # lives for 30 days: kept

    domain.advance_clock(settings.anonymous_token_lifetime + EXPIRED_TOKEN_MEMORY)
    domain.purge_expired()

    assert all(domain.store.access_token(token.value) is None for token in anonymous)
    assert all(domain.store.access_token_of_refresh_token(token.refresh_token) is None for token in anonymous)
    assert domain.store.access_token(customer.value) == customer
    assert domain.store.access_token_of_refresh_token(customer.refresh_token) == customer


def test_authenticate_expired_token_answers_expired_for_a_day_then_invalid(
    domain: Domain, settings: Settings
) -> None:
    """Expired tokens are remembered for a day, so clients see "expired"; then they are forgotten."""
    token = domain.anonymous_login(TENANT).value

    domain.advance_clock(settings.anonymous_token_lifetime + PURGE_INTERVAL)
    with pytest.raises(errors.ExpiredAccessToken):
        domain.authenticate(token, TENANT, required_kind=None)

    domain.advance_clock(EXPIRED_TOKEN_MEMORY)
    with pytest.raises(errors.InvalidAccessToken) as raised:
        domain.authenticate(token, TENANT, required_kind=None)
    assert type(raised.value) is errors.InvalidAccessToken
    assert domain.store.access_token(token) is None


def test_purge_runs_when_state_is_added_once_the_interval_has_passed(
    domain: Domain, settings: Settings
) -> None:
    (email_token,) = reset_tokens(domain, ALICE["email"])
    old = domain.anonymous_login(TENANT)

    domain.advance_clock(settings.anonymous_token_lifetime + EXPIRED_TOKEN_MEMORY)
    domain.anonymous_login(TENANT)  # adding a token first purges what has expired

    assert domain.store.email_token(email_token) is None
    assert domain.store.access_token(old.value) is None


def test_request_reset_password_outbox_keeps_the_newest_emails(domain: Domain) -> None:
    for _ in range(12):
        domain.request_reset_password(TENANT, ALICE["email"])
        domain.request_reset_password(TENANT, BOB["email"])

    assert len(domain.outbox) == 5
    newest = domain.outbox.find()
    assert len(newest) == 5
    assert [email.to for email in newest[:2]] == [BOB["email"], ALICE["email"]]
    assert all(domain.store.email_token(email.token) for email in newest[:2])
    assert not any(domain.store.email_token(email.token) for email in newest[2:])


def test_lookups_of_unknown_tenants_create_nothing(domain: Domain) -> None:
    """Any request may name a new tenant; only customers make one exist."""
    for number in range(100):
        domain.request_reset_password(f"junk{number}", ALICE["email"])
        domain.anonymous_login(f"junk{number}")
    domain.create_customer("kept", "kept@example.com", "kept-pass-1")

    assert domain.tenants() == ["demo", "acme", "kept"]
    assert domain.get_health()["tenants"] == 3

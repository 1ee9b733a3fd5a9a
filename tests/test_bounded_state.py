"""Bounded memory: however long the mock runs, spent and expired email tokens, long-expired
access tokens and old emails are dropped. Driven through the backend with a fixed, advanced clock."""

from __future__ import annotations

import pytest

from credmock import exceptions as errors
from credmock.backend import EXPIRED_TOKEN_MEMORY, PURGE_INTERVAL, CredentialsBackend
from credmock.settings import Settings
from tests.conftest import ALICE, BOB, TENANT

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def settings() -> Settings:
    return Settings(seed=11, clock_start=START, outbox_capacity=5)


@pytest.fixture
def backend(settings: Settings) -> CredentialsBackend:
    return CredentialsBackend(settings)


def email_token_count(backend: CredentialsBackend) -> int:
    return sum(len(state.email_tokens) for state in backend.tenants.values())


def live_email_token_count(backend: CredentialsBackend) -> int:
    return sum(len(state.live_email_tokens) for state in backend.tenants.values())


def test_purge_drops_expired_email_tokens(backend: CredentialsBackend, settings: Settings) -> None:
    for email in (ALICE["email"], BOB["email"]):
        backend.request_password_reset(TENANT, email)
    assert email_token_count(backend) == live_email_token_count(backend) == 2

    backend.advance_clock(settings.password_reset_token_lifetime)
    backend._purge(backend.clock.now())

    assert email_token_count(backend) == live_email_token_count(backend) == 0


def test_purge_keeps_email_tokens_still_valid(backend: CredentialsBackend, settings: Settings) -> None:
    backend.request_password_reset(TENANT, ALICE["email"])

    backend.advance_clock(settings.password_reset_token_lifetime - 1)
    backend._purge(backend.clock.now())

    assert email_token_count(backend) == 1
    backend.reset_password(TENANT, backend.outbox.latest().token, "still-valid-1")


def test_reset_password_spent_token_is_dropped_at_once(backend: CredentialsBackend) -> None:
    backend.request_password_reset(TENANT, ALICE["email"])

    backend.reset_password(TENANT, backend.outbox.latest().token, "brand-new-1")

    assert email_token_count(backend) == live_email_token_count(backend) == 0


def test_request_password_reset_repeated_keeps_one_token_per_customer(backend: CredentialsBackend) -> None:
    for _ in range(20):
        backend.request_password_reset(TENANT, ALICE["email"])

    assert email_token_count(backend) == live_email_token_count(backend) == 1


def test_purge_drops_access_tokens_long_expired(backend: CredentialsBackend, settings: Settings) -> None:
    for _ in range(50):
        backend.issue_anonymous_token(TENANT)
    backend.issue_customer_token(TENANT, ALICE["email"])  # lives for 30 days: kept
    assert len(backend.access_tokens) == len(backend.refresh_tokens) == 51

    backend.advance_clock(settings.anonymous_token_lifetime + EXPIRED_TOKEN_MEMORY)
    backend._purge(backend.clock.now())

    assert len(backend.access_tokens) == len(backend.refresh_tokens) == 1


def test_authenticate_expired_token_answers_expired_until_purged(
    backend: CredentialsBackend, settings: Settings
) -> None:
    """Expired tokens are remembered for a day, so clients see "expired"; then they are forgotten."""
    token = backend.issue_anonymous_token(TENANT).value

    backend.advance_clock(settings.anonymous_token_lifetime + PURGE_INTERVAL)
    with pytest.raises(errors.ExpiredAccessToken):
        backend.authenticate(token, TENANT, customer_required=False)
    assert token in backend.access_tokens

    backend.advance_clock(EXPIRED_TOKEN_MEMORY)
    with pytest.raises(errors.InvalidAccessToken) as raised:
        backend.authenticate(token, TENANT, customer_required=False)
    assert type(raised.value) is errors.InvalidAccessToken
    assert token not in backend.access_tokens


def test_purge_runs_on_its_own_once_the_interval_has_passed(
    backend: CredentialsBackend, settings: Settings
) -> None:
    backend.request_password_reset(TENANT, ALICE["email"])
    backend.issue_anonymous_token(TENANT)

    backend.advance_clock(settings.anonymous_token_lifetime + EXPIRED_TOKEN_MEMORY)
    backend.issue_anonymous_token(TENANT)  # any call that reads the clock purges

    assert email_token_count(backend) == 0
    assert len(backend.access_tokens) == 1


def test_request_password_reset_outbox_keeps_the_newest_emails(backend: CredentialsBackend) -> None:
    for _ in range(12):
        backend.request_password_reset(TENANT, ALICE["email"])
        backend.request_password_reset(TENANT, BOB["email"])

    assert len(backend.outbox) == 5
    newest = backend.outbox.find()
    assert [email.to for email in newest[:2]] == [BOB["email"], ALICE["email"]]
    live_tokens = {
        state.email_tokens[token].value for state in backend.tenants.values() for token in state.email_tokens
    }
    assert {newest[0].token, newest[1].token} == live_tokens


def test_purge_drops_tenants_left_empty(backend: CredentialsBackend) -> None:
    """Any request may name a new tenant; the ones holding nothing do not pile up."""
    for number in range(100):
        backend.request_password_reset(f"junk{number}", ALICE["email"])
    backend.create_customer("kept", "kept@example.com", "kept-pass-1")
    assert len(backend.tenants) == 2 + 100 + 1

    backend._purge(backend.clock.now())

    assert sorted(backend.tenants) == ["acme", "demo", "kept"]
    assert backend.issue_anonymous_token("junk1").tenant == "junk1", "a purged tenant is created again on use"

"""The credential rules on the domain alone: a CredentialsBackend with its clock, token source and
outbox injected, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from credmock import exceptions as errors
from credmock.backend import CredentialsBackend
from credmock.clock import Clock
from credmock.models import PROFILE_EDIT_SCOPE, AccessToken
from credmock.outbox import EMAIL_CHANGE, PASSWORD_RESET, Email, Outbox
from credmock.seeding import FixtureError
from credmock.settings import Settings
from credmock.token_source import TokenSource
from tests.conftest import EXPIRED_TOKEN_FAULT, INVALID_TOKEN_FAULT

START = 1_700_000_000.0
ALICE = ("alice@example.com", "alice-pass-1")
BOB = ("bob@example.com", "bob-pass-2")


def make_backend(seed: int = 7, **overrides: Any) -> CredentialsBackend:
    settings = Settings(seed=seed, clock_start=START, **overrides)
    return CredentialsBackend(settings, clock=Clock(START), token_source=TokenSource(seed), outbox=Outbox())


@pytest.fixture
def backend() -> CredentialsBackend:
    return make_backend()


def alice_token(backend: CredentialsBackend, **options: Any) -> AccessToken:
    return backend.issue_customer_token("demo", ALICE[0], **options)


def can_log_in(backend: CredentialsBackend, email: str, password: str, tenant: str = "demo") -> bool:
    try:
        backend.issue_customer_token(tenant, email, password=password)
    except (errors.InvalidCredentials, errors.NotFound):
        return False
    return True


def last_email(backend: CredentialsBackend) -> Email:
    email = backend.outbox.latest()
    assert email is not None, "no email was sent"
    return email


def reset_token(backend: CredentialsBackend, email: str = ALICE[0], tenant: str = "demo") -> str:
    backend.request_password_reset(tenant, email)
    return last_email(backend).token


def email_change_token(backend: CredentialsBackend, new_email: str, *, sync: bool = False) -> str:
    backend.request_email_change(alice_token(backend), *ALICE, new_email, sync)
    return last_email(backend).token


# Access tokens --------------------------------------------------------------------------------


def test_authenticate_unknown_token_is_invalid(backend):
    with pytest.raises(errors.InvalidAccessToken) as raised:
        backend.authenticate("no-such-token", "demo", customer_required=False)
    assert raised.value.status == 401
    assert raised.value.body() == INVALID_TOKEN_FAULT


def test_authenticate_anonymous_token_lives_3599_seconds(backend):
    token = backend.issue_anonymous_token("demo")
    assert token.expires_in == 3599
    backend.clock.advance(3598)
    assert backend.authenticate(token.value, "demo", customer_required=False) is token
    backend.clock.advance(1)
    with pytest.raises(errors.ExpiredAccessToken) as raised:
        backend.authenticate(token.value, "demo", customer_required=False)
    assert raised.value.body() == EXPIRED_TOKEN_FAULT


def test_authenticate_customer_token_lives_2591999_seconds_with_profile_edit_scope(backend):
    token = alice_token(backend)
    assert token.expires_in == 2591999
    assert PROFILE_EDIT_SCOPE in token.scopes
    backend.clock.advance(2591998)
    assert backend.authenticate(token.value, "demo", customer_required=True) is token
    backend.clock.advance(1)
    with pytest.raises(errors.ExpiredAccessToken):
        backend.authenticate(token.value, "demo", customer_required=True)


def test_authenticate_token_of_other_tenant_is_forbidden(backend):
    token = backend.issue_anonymous_token("acme")
    with pytest.raises(errors.TenantMismatch) as raised:
        backend.authenticate(token.value, "demo", customer_required=False)
    assert raised.value.status == 403


def test_authenticate_anonymous_token_where_customer_needed_is_forbidden(backend):
    token = backend.issue_anonymous_token("demo")
    with pytest.raises(errors.CustomerTokenRequired) as raised:
        backend.authenticate(token.value, "demo", customer_required=True)
    assert raised.value.status == 403


def test_authenticate_customer_token_accepted_where_anonymous_asked(backend):
    token = alice_token(backend)
    assert backend.authenticate(token.value, "demo", customer_required=False) is token


def test_issue_customer_token_checks_password_when_given(backend):
    assert can_log_in(backend, *ALICE)
    with pytest.raises(errors.InvalidCredentials):
        backend.issue_customer_token("demo", ALICE[0], password="wrong-password")
    with pytest.raises(errors.NotFound):
        backend.issue_customer_token("demo", "nobody@example.com")


# Email tokens ---------------------------------------------------------------------------------


def test_reset_password_token_is_single_use(backend):
    token = reset_token(backend)
    backend.reset_password("demo", token, "first-new-pass")
    with pytest.raises(errors.InvalidEmailToken):
        backend.reset_password("demo", token, "second-new-pass")
    assert can_log_in(backend, ALICE[0], "first-new-pass")


def test_reset_password_token_is_bound_to_its_tenant(backend):
    token = reset_token(backend)
    with pytest.raises(errors.InvalidEmailToken):
        backend.reset_password("acme", token, "new-password")
    assert can_log_in(backend, *ALICE)


def test_reset_password_token_is_bound_to_its_customer(backend):
    token = reset_token(backend, BOB[0])
    backend.reset_password("demo", token, "bobs-new-pass")
    assert can_log_in(backend, BOB[0], "bobs-new-pass")
    assert can_log_in(backend, *ALICE)


def test_confirm_email_change_rejects_reset_token(backend):
    token = reset_token(backend)
    with pytest.raises(errors.InvalidEmailToken):
        backend.confirm_email_change("demo", token)


def test_reset_password_rejects_email_change_token(backend):
    token = email_change_token(backend, "alice.new@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        backend.reset_password("demo", token, "new-password")


def _use_reset_token(backend: CredentialsBackend, token: str) -> None:
    backend.reset_password("demo", token, "new-password")
    assert can_log_in(backend, ALICE[0], "new-password")


def _use_email_change_token(backend: CredentialsBackend, token: str) -> None:
    assert backend.confirm_email_change("demo", token).email == "alice.new@example.com"


EMAIL_TOKEN_LIFETIMES = {
    # name: (settings, lifetime in seconds, issue a token, use it)
    "reset-default-one-hour": ({}, 3600, reset_token, _use_reset_token),
    "reset-configured": ({"password_reset_token_lifetime": 60}, 60, reset_token, _use_reset_token),
    "email-change-default-one-hour": (
        {},
        3600,
        lambda backend: email_change_token(backend, "alice.new@example.com"),
        _use_email_change_token,
    ),
    "email-change-configured": (
        {"email_change_token_lifetime": 120},
        120,
        lambda backend: email_change_token(backend, "alice.new@example.com"),
        _use_email_change_token,
    ),
}


@pytest.mark.parametrize(
    ("overrides", "lifetime", "issue", "use"),
    EMAIL_TOKEN_LIFETIMES.values(),
    ids=EMAIL_TOKEN_LIFETIMES.keys(),
)
def test_email_token_works_until_its_lifetime_ends(overrides, lifetime, issue, use):
    backend = make_backend(**overrides)
    token = issue(backend)
    backend.clock.advance(lifetime - 1)
    use(backend, token)

    backend = make_backend(**overrides)
    token = issue(backend)
    backend.clock.advance(lifetime)
    with pytest.raises(errors.InvalidEmailToken):
        use(backend, token)


def test_request_password_reset_revokes_previous_token(backend):
    first = reset_token(backend)
    second = reset_token(backend)
    with pytest.raises(errors.InvalidEmailToken):
        backend.reset_password("demo", first, "new-password")
    backend.reset_password("demo", second, "new-password")


def test_request_password_reset_keeps_other_customers_tokens(backend):
    alice_reset = reset_token(backend)
    reset_token(backend, BOB[0])
    backend.reset_password("demo", alice_reset, "new-password")


def test_request_email_change_revokes_previous_token(backend):
    first = email_change_token(backend, "first@example.com")
    second = email_change_token(backend, "second@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        backend.confirm_email_change("demo", first)
    assert backend.confirm_email_change("demo", second).email == "second@example.com"


# 1. Request a password reset ------------------------------------------------------------------


def test_request_password_reset_known_email_sends_token(backend):
    backend.request_password_reset("demo", ALICE[0])
    email = last_email(backend)
    assert (email.tenant, email.to, email.kind, email.customer_id) == (
        "demo",
        ALICE[0],
        PASSWORD_RESET,
        "10000001",
    )
    assert email.token in email.link
    assert email.link in email.body


def test_request_password_reset_matches_email_case_insensitively(backend):
    backend.request_password_reset("demo", "ALICE@Example.com")
    assert last_email(backend).to == ALICE[0]


def test_request_password_reset_unknown_email_sends_nothing(backend):
    backend.request_password_reset("demo", "nobody@example.com")
    backend.request_password_reset("acme", ALICE[0])
    assert len(backend.outbox) == 0


def test_request_password_reset_link_follows_template():
    backend = make_backend(password_reset_link="https://shop.example/{tenant}/reset?t={token}&for={email}")
    backend.request_password_reset("demo", ALICE[0])
    email = last_email(backend)
    assert email.link == f"https://shop.example/demo/reset?t={email.token}&for=alice%40example.com"
    assert email.link in email.body
    assert "<" not in email.body  # plain text, not HTML


# 2. Reset the password ------------------------------------------------------------------------


def test_reset_password_replaces_password(backend):
    backend.reset_password("demo", reset_token(backend), "brand-new-pass")
    assert can_log_in(backend, ALICE[0], "brand-new-pass")
    assert not can_log_in(backend, *ALICE)


def test_reset_password_revokes_customers_access_tokens(backend):
    alice = alice_token(backend)
    bob = backend.issue_customer_token("demo", BOB[0])
    backend.reset_password("demo", reset_token(backend), "brand-new-pass")
    with pytest.raises(errors.InvalidAccessToken):
        backend.authenticate(alice.value, "demo", customer_required=True)
    assert backend.authenticate(bob.value, "demo", customer_required=True) is bob


def test_reset_password_unknown_token_is_rejected(backend):
    with pytest.raises(errors.InvalidEmailToken) as raised:
        backend.reset_password("demo", "no-such-token", "new-password")
    assert raised.value.status == 400
    assert raised.value.body()["type"] == "invalid_token"


def test_reset_password_short_password_is_rejected_and_token_kept(backend):
    token = reset_token(backend)
    with pytest.raises(errors.PasswordPolicyViolation) as raised:
        backend.reset_password("demo", token, "12345")
    assert [detail.field for detail in raised.value.details] == ["password"]
    backend.reset_password("demo", token, "123456")
    assert can_log_in(backend, ALICE[0], "123456")


def test_reset_password_policy_is_configurable():
    backend = make_backend(password_min_length=10)
    token = reset_token(backend)
    with pytest.raises(errors.PasswordPolicyViolation):
        backend.reset_password("demo", token, "123456789")
    backend.reset_password("demo", token, "1234567890")


# 3. Change the password -----------------------------------------------------------------------


def test_change_password_replaces_password(backend):
    backend.change_password(alice_token(backend), ALICE[1], "changed-pass")
    assert can_log_in(backend, ALICE[0], "changed-pass")
    assert not can_log_in(backend, *ALICE)


def test_change_password_wrong_current_password_is_rejected(backend):
    with pytest.raises(errors.WrongCurrentPassword) as raised:
        backend.change_password(alice_token(backend), "not-the-password", "changed-pass")
    assert raised.value.status == 400
    assert can_log_in(backend, *ALICE)


def test_change_password_short_password_is_rejected(backend):
    with pytest.raises(errors.PasswordPolicyViolation) as raised:
        backend.change_password(alice_token(backend), ALICE[1], "short")
    assert [detail.field for detail in raised.value.details] == ["newPassword"]


def test_change_password_policy_is_configurable():
    backend = make_backend(password_min_length=3)
    backend.change_password(alice_token(backend), ALICE[1], "abc")
    assert can_log_in(backend, ALICE[0], "abc")


# 4. Request an email change -------------------------------------------------------------------


def test_request_email_change_sends_token_to_new_email_and_changes_nothing(backend):
    backend.request_email_change(alice_token(backend), *ALICE, "alice.new@example.com")
    email = last_email(backend)
    assert (email.to, email.kind, email.customer_id) == ("alice.new@example.com", EMAIL_CHANGE, "10000001")
    assert email.token in email.link
    assert email.link in email.body
    assert backend.get_customer("demo", "10000001").email == ALICE[0]
    assert can_log_in(backend, *ALICE)


def test_request_email_change_without_profile_edit_scope_is_forbidden(backend):
    token = alice_token(backend, scopes=["customer.customer_read_own"])
    with pytest.raises(errors.MissingScope) as raised:
        backend.request_email_change(token, *ALICE, "alice.new@example.com")
    assert raised.value.status == 403


@pytest.mark.parametrize(
    ("email", "password"),
    [(BOB[0], ALICE[1]), (ALICE[0], "wrong-password")],
    ids=["wrong-email", "wrong-password"],
)
def test_request_email_change_wrong_credentials_are_rejected(backend, email, password):
    with pytest.raises(errors.InvalidCredentials):
        backend.request_email_change(alice_token(backend), email, password, "alice.new@example.com")
    assert len(backend.outbox) == 0


@pytest.mark.parametrize(
    ("new_email", "error"),
    [
        ("not-an-email", errors.ValidationFailed),
        ("ALICE@example.com", errors.SameEmail),
        (BOB[0], errors.EmailAlreadyUsed),
    ],
    ids=["invalid", "same", "taken"],
)
def test_request_email_change_bad_new_email_is_rejected(backend, new_email, error):
    with pytest.raises(error) as raised:
        backend.request_email_change(alice_token(backend), *ALICE, new_email)
    assert raised.value.status == 400
    assert [detail.field for detail in raised.value.details] == ["newEmail"]
    assert len(backend.outbox) == 0


# 5. Confirm the email change ------------------------------------------------------------------


def test_confirm_email_change_replaces_login_email_only(backend):
    token = email_change_token(backend, "alice.new@example.com")
    customer = backend.confirm_email_change("demo", token)
    assert (customer.email, customer.contact_email) == ("alice.new@example.com", ALICE[0])
    assert can_log_in(backend, "alice.new@example.com", ALICE[1])
    assert not can_log_in(backend, *ALICE)


def test_confirm_email_change_with_sync_replaces_contact_email(backend):
    token = email_change_token(backend, "alice.new@example.com", sync=True)
    customer = backend.confirm_email_change("demo", token)
    assert customer.contact_email == "alice.new@example.com"


def test_confirm_email_change_old_email_no_longer_known(backend):
    backend.confirm_email_change("demo", email_change_token(backend, "alice.new@example.com"))
    backend.outbox.clear()
    backend.request_password_reset("demo", ALICE[0])
    assert len(backend.outbox) == 0
    with pytest.raises(errors.NotFound):
        backend.issue_customer_token("demo", ALICE[0])


def test_confirm_email_change_token_is_single_use(backend):
    token = email_change_token(backend, "alice.new@example.com")
    backend.confirm_email_change("demo", token)
    with pytest.raises(errors.InvalidEmailToken):
        backend.confirm_email_change("demo", token)


def test_confirm_email_change_token_is_bound_to_its_tenant(backend):
    token = email_change_token(backend, "alice.new@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        backend.confirm_email_change("acme", token)


def test_confirm_email_change_new_email_taken_meanwhile_is_rejected(backend):
    token = email_change_token(backend, "alice.new@example.com")
    backend.create_customer("demo", "alice.new@example.com", "someone-else")
    with pytest.raises(errors.EmailAlreadyUsed) as raised:
        backend.confirm_email_change("demo", token)
    assert raised.value.status == 400
    assert backend.get_customer("demo", "10000001").email == ALICE[0]


# State, customers, determinism ----------------------------------------------------------------


def test_create_customer_rejects_duplicate_and_bad_input(backend):
    with pytest.raises(errors.EmailAlreadyUsed):
        backend.create_customer("demo", "Alice@Example.com", "long-enough")
    with pytest.raises(errors.PasswordPolicyViolation):
        backend.create_customer("demo", "new@example.com", "short")
    with pytest.raises(errors.ValidationFailed):
        backend.create_customer("demo", "not-an-email", "long-enough")


def test_create_customer_stores_password_hashed(backend):
    customer = backend.create_customer("demo", "new@example.com", "secret-pass")
    assert "secret-pass" not in customer.password_hash
    assert can_log_in(backend, "new@example.com", "secret-pass")


def test_fixture_customers_load_whatever_the_password_policy():
    backend = make_backend(password_min_length=20)
    assert can_log_in(backend, *ALICE)
    with pytest.raises(errors.PasswordPolicyViolation):
        backend.create_customer("demo", "new@example.com", "nineteen-characters")


def test_fixture_with_duplicate_email_is_rejected_naming_file(tmp_path):
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(
        "tenants:\n  shop:\n    customers:\n"
        "      - {email: a@example.com, password: secret-1}\n"
        "      - {email: A@Example.com, password: secret-2}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError) as raised:
        make_backend(fixtures_path=fixtures)
    assert str(raised.value).startswith(f"{fixtures}: tenant 'shop', customer 'A@Example.com': ")
    assert "Duplicate account" in str(raised.value)


def test_reset_returns_to_fixtures(backend):
    backend.change_password(alice_token(backend), ALICE[1], "changed-pass")
    backend.create_customer("demo", "new@example.com", "secret-pass")
    backend.request_password_reset("demo", BOB[0])
    backend.clock.advance(500)
    backend.reset()
    assert can_log_in(backend, *ALICE)
    assert [c.email for c in backend.list_customers("demo")] == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert len(backend.outbox) == 0
    assert backend.clock.now() == START


def test_same_seed_gives_same_tokens_and_customer_ids():
    def run(seed: int) -> tuple[list[str], list[str]]:
        backend = make_backend(seed=seed, fake_customers=2)
        created = backend.create_customer("demo", "new@example.com", "secret-pass")
        backend.request_password_reset("demo", ALICE[0])
        tokens = [
            backend.issue_anonymous_token("demo").value,
            alice_token(backend).value,
            last_email(backend).token,
        ]
        ids = [c.id for c in backend.list_customers("demo")] + [created.id]
        return tokens, ids

    assert run(42) == run(42)
    assert run(42) != run(43)


@pytest.mark.parametrize("field", ["password_reset_link", "email_change_link"])
def test_backend_bad_link_template_is_refused_at_start(field):
    with pytest.raises(ValueError, match=r"placeholders \{tenant\}, \{token\} and \{email\}"):
        CredentialsBackend(Settings(**{field: "http://shop.example/?t={tokn}"}))


def test_request_password_reset_link_template_with_literal_braces():
    backend = CredentialsBackend(Settings(password_reset_link="http://shop.example/{{x}}/{token}"))
    backend.request_password_reset("demo", "alice@example.com")
    email = backend.outbox.latest()
    assert email.link == f"http://shop.example/{{x}}/{email.token}"

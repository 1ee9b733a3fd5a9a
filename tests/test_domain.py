"""The credential rules on the domain alone, no HTTP, over each store (memory, a SQLite file, a
Redis server): the rules are written once and hold the same in every store."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from credmock.app import build_domain
from credmock.core import exceptions as errors
from credmock.core.messages import EMAIL_CHANGE, FAILED, PASSWORD_RESET, SENT, Delivery, Email
from credmock.core.models import ANONYMOUS, CUSTOMER, PROFILE_EDIT_SCOPE, AccessToken, Address
from credmock.core.seeding import FixtureError
from credmock.domain import Domain
from credmock.settings import Settings
from tests.conftest import EXPIRED_TOKEN_FAULT, INVALID_TOKEN_FAULT
from tests.stores import SHARED_STORES, STORES

START = 1_700_000_000.0
ALICE = ("alice@example.com", "alice-pass-1")
BOB = ("bob@example.com", "bob-pass-2")


@pytest.fixture(params=STORES)
def make_domain(request: pytest.FixtureRequest, store_urls) -> Callable[..., Domain]:
    """Domains on a clean store of one kind, with a fixed clock and seeded tokens."""

    def make(seed: int = 7, **overrides: Any) -> Domain:
        settings = Settings(
            seed=seed, clock_start=START, state=store_urls(request.param), reset_on_start=True, **overrides
        )
        domain = build_domain(settings)
        request.addfinalizer(domain.close)
        return domain

    return make


@pytest.fixture
def domain(make_domain) -> Domain:
    return make_domain()


def alice_token(domain: Domain, **options: Any) -> AccessToken:
    return domain.customer_token("demo", ALICE[0], **options)


def can_log_in(domain: Domain, email: str, password: str, tenant: str = "demo") -> bool:
    try:
        domain.customer_token(tenant, email, password=password)
    except (errors.InvalidCredentials, errors.NotFound):
        return False
    return True


def last_email(domain: Domain) -> Email:
    email = domain.outbox.latest()
    assert email is not None, "no email was sent"
    return email


def reset_token(domain: Domain, email: str = ALICE[0], tenant: str = "demo") -> str:
    domain.request_reset_password(tenant, email)
    return last_email(domain).token


def email_change_token(domain: Domain, new_email: str, *, sync: bool = False) -> str:
    domain.change_customer_login_email(alice_token(domain), *ALICE, new_email, sync)
    return last_email(domain).token


# Access tokens --------------------------------------------------------------------------------


def test_authenticate_unknown_token_is_invalid(domain):
    with pytest.raises(errors.InvalidAccessToken) as raised:
        domain.authenticate("no-such-token", "demo", required_kind=None)
    assert raised.value.status == 401
    assert raised.value.body() == INVALID_TOKEN_FAULT


def test_authenticate_anonymous_token_lives_3599_seconds(domain):
    token = domain.anonymous_login("demo")
    assert token.expires_in == 3599
    domain.clock.advance(3598)
    assert domain.authenticate(token.value, "demo", required_kind=None) == token
    domain.clock.advance(1)
    with pytest.raises(errors.ExpiredAccessToken) as raised:
        domain.authenticate(token.value, "demo", required_kind=None)
    assert raised.value.body() == EXPIRED_TOKEN_FAULT


def test_authenticate_customer_token_lives_2591999_seconds_with_profile_edit_scope(domain):
    token = alice_token(domain)
    assert token.expires_in == 2591999
    assert PROFILE_EDIT_SCOPE in token.scopes
    domain.clock.advance(2591998)
    assert domain.authenticate(token.value, "demo", required_kind=CUSTOMER) == token
    domain.clock.advance(1)
    with pytest.raises(errors.ExpiredAccessToken):
        domain.authenticate(token.value, "demo", required_kind=CUSTOMER)


def test_authenticate_token_of_other_tenant_is_forbidden(domain):
    token = domain.anonymous_login("acme")
    with pytest.raises(errors.TenantMismatch) as raised:
        domain.authenticate(token.value, "demo", required_kind=None)
    assert raised.value.status == 403


def test_authenticate_anonymous_token_where_customer_needed_is_forbidden(domain):
    token = domain.anonymous_login("demo")
    with pytest.raises(errors.CustomerTokenRequired) as raised:
        domain.authenticate(token.value, "demo", required_kind=CUSTOMER)
    assert raised.value.status == 403


def test_authenticate_customer_token_where_anonymous_needed_is_forbidden(domain):
    token = alice_token(domain)
    with pytest.raises(errors.AnonymousTokenRequired) as raised:
        domain.authenticate(token.value, "demo", required_kind=ANONYMOUS)
    assert raised.value.status == 403
    assert domain.authenticate(token.value, "demo", required_kind=None) == token


def test_customer_token_checks_password_when_given(domain):
    assert can_log_in(domain, *ALICE)
    with pytest.raises(errors.InvalidCredentials):
        domain.customer_token("demo", ALICE[0], password="wrong-password")
    with pytest.raises(errors.NotFound):
        domain.customer_token("demo", "nobody@example.com")


# Email tokens ---------------------------------------------------------------------------------


def test_reset_password_token_is_single_use(domain):
    token = reset_token(domain)
    domain.reset_password("demo", token, "first-new-pass")
    with pytest.raises(errors.InvalidEmailToken):
        domain.reset_password("demo", token, "second-new-pass")
    assert can_log_in(domain, ALICE[0], "first-new-pass")


def test_reset_password_token_is_bound_to_its_tenant(domain):
    token = reset_token(domain)
    with pytest.raises(errors.InvalidEmailToken):
        domain.reset_password("acme", token, "new-password")
    assert can_log_in(domain, *ALICE)


def test_reset_password_token_is_bound_to_its_customer(domain):
    token = reset_token(domain, BOB[0])
    domain.reset_password("demo", token, "bobs-new-pass")
    assert can_log_in(domain, BOB[0], "bobs-new-pass")
    assert can_log_in(domain, *ALICE)


def test_confirm_customer_login_email_rejects_reset_token(domain):
    token = reset_token(domain)
    with pytest.raises(errors.InvalidEmailToken):
        domain.confirm_customer_login_email("demo", token)


def test_reset_password_rejects_email_change_token(domain):
    token = email_change_token(domain, "alice.new@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        domain.reset_password("demo", token, "new-password")


def _use_reset_token(domain: Domain, token: str) -> None:
    domain.reset_password("demo", token, "new-password")
    assert can_log_in(domain, ALICE[0], "new-password")


def _use_email_change_token(domain: Domain, token: str) -> None:
    assert domain.confirm_customer_login_email("demo", token).email == "alice.new@example.com"


EMAIL_TOKEN_LIFETIMES = {
    # name: (settings, lifetime in seconds, issue a token, use it)
    "reset-default-one-hour": ({}, 3600, reset_token, _use_reset_token),
    "reset-configured": ({"password_reset_token_lifetime": 60}, 60, reset_token, _use_reset_token),
    "email-change-default-one-hour": (
        {},
        3600,
        lambda domain: email_change_token(domain, "alice.new@example.com"),
        _use_email_change_token,
    ),
    "email-change-configured": (
        {"email_change_token_lifetime": 120},
        120,
        lambda domain: email_change_token(domain, "alice.new@example.com"),
        _use_email_change_token,
    ),
}


@pytest.mark.parametrize(
    ("overrides", "lifetime", "issue", "use"),
    EMAIL_TOKEN_LIFETIMES.values(),
    ids=EMAIL_TOKEN_LIFETIMES.keys(),
)
def test_email_token_works_until_its_lifetime_ends(make_domain, overrides, lifetime, issue, use):
    domain = make_domain(**overrides)
    token = issue(domain)
    domain.clock.advance(lifetime - 1)
    use(domain, token)

    domain = make_domain(**overrides)
    token = issue(domain)
    domain.clock.advance(lifetime)
    with pytest.raises(errors.InvalidEmailToken):
        use(domain, token)


def test_request_reset_password_revokes_previous_token(domain):
    first = reset_token(domain)
    second = reset_token(domain)
    with pytest.raises(errors.InvalidEmailToken):
        domain.reset_password("demo", first, "new-password")
    domain.reset_password("demo", second, "new-password")


def test_request_reset_password_keeps_other_customers_tokens(domain):
    alice_reset = reset_token(domain)
    reset_token(domain, BOB[0])
    domain.reset_password("demo", alice_reset, "new-password")


def test_change_customer_login_email_revokes_previous_token(domain):
    first = email_change_token(domain, "first@example.com")
    second = email_change_token(domain, "second@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        domain.confirm_customer_login_email("demo", first)
    assert domain.confirm_customer_login_email("demo", second).email == "second@example.com"


# 1. Request a password reset ------------------------------------------------------------------


def test_request_reset_password_known_email_sends_token(domain):
    domain.request_reset_password("demo", ALICE[0])
    email = last_email(domain)
    assert (email.tenant, email.to, email.kind, email.customer_id) == (
        "demo",
        ALICE[0],
        PASSWORD_RESET,
        "10000001",
    )
    assert email.token in email.link
    assert email.link in email.body


def test_request_reset_password_matches_email_case_insensitively(domain):
    domain.request_reset_password("demo", "ALICE@Example.com")
    assert last_email(domain).to == ALICE[0]


def test_request_reset_password_unknown_email_sends_nothing(domain):
    domain.request_reset_password("demo", "nobody@example.com")
    domain.request_reset_password("acme", ALICE[0])
    assert len(domain.outbox) == 0


def test_request_reset_password_link_follows_template(make_domain):
    domain = make_domain(password_reset_link="https://shop.example/{tenant}/reset?t={token}&for={email}")
    domain.request_reset_password("demo", ALICE[0])
    email = last_email(domain)
    assert email.link == f"https://shop.example/demo/reset?t={email.token}&for=alice%40example.com"
    assert email.link in email.body
    assert "<" not in email.body  # plain text, not HTML


# 2. Reset the password ------------------------------------------------------------------------


def test_reset_password_replaces_password(domain):
    domain.reset_password("demo", reset_token(domain), "brand-new-pass")
    assert can_log_in(domain, ALICE[0], "brand-new-pass")
    assert not can_log_in(domain, *ALICE)


def test_reset_password_revokes_customers_access_tokens(domain):
    alice = alice_token(domain)
    bob = domain.customer_token("demo", BOB[0])
    domain.reset_password("demo", reset_token(domain), "brand-new-pass")
    with pytest.raises(errors.InvalidAccessToken):
        domain.authenticate(alice.value, "demo", required_kind=CUSTOMER)
    assert domain.authenticate(bob.value, "demo", required_kind=CUSTOMER) == bob


def test_reset_password_unknown_token_is_rejected(domain):
    with pytest.raises(errors.InvalidEmailToken) as raised:
        domain.reset_password("demo", "no-such-token", "new-password")
    assert raised.value.status == 400
    assert raised.value.body()["type"] == "invalid_token"


def test_reset_password_short_password_is_rejected_and_token_kept(domain):
    token = reset_token(domain)
    with pytest.raises(errors.PasswordPolicyViolation) as raised:
        domain.reset_password("demo", token, "12345")
    assert [detail.field for detail in raised.value.details] == ["password"]
    domain.reset_password("demo", token, "123456")
    assert can_log_in(domain, ALICE[0], "123456")


def test_reset_password_policy_is_configurable(make_domain):
    domain = make_domain(password_min_length=10)
    token = reset_token(domain)
    with pytest.raises(errors.PasswordPolicyViolation):
        domain.reset_password("demo", token, "123456789")
    domain.reset_password("demo", token, "1234567890")


# 3. Change the password -----------------------------------------------------------------------


def test_change_password_replaces_password(domain):
    domain.change_account_password(alice_token(domain), ALICE[1], "changed-pass")
    assert can_log_in(domain, ALICE[0], "changed-pass")
    assert not can_log_in(domain, *ALICE)


def test_change_password_wrong_current_password_is_rejected(domain):
    with pytest.raises(errors.WrongCurrentPassword) as raised:
        domain.change_account_password(alice_token(domain), "not-the-password", "changed-pass")
    assert raised.value.status == 400
    assert can_log_in(domain, *ALICE)


def test_change_password_short_password_is_rejected(domain):
    with pytest.raises(errors.PasswordPolicyViolation) as raised:
        domain.change_account_password(alice_token(domain), ALICE[1], "short")
    assert [detail.field for detail in raised.value.details] == ["new_password"]


def test_change_password_policy_is_configurable(make_domain):
    domain = make_domain(password_min_length=3)
    domain.change_account_password(alice_token(domain), ALICE[1], "abc")
    assert can_log_in(domain, ALICE[0], "abc")


# 4. Request an email change -------------------------------------------------------------------


def test_change_customer_login_email_sends_token_to_new_email_and_changes_nothing(domain):
    domain.change_customer_login_email(alice_token(domain), *ALICE, "alice.new@example.com")
    email = last_email(domain)
    assert (email.to, email.kind, email.customer_id) == ("alice.new@example.com", EMAIL_CHANGE, "10000001")
    assert email.token in email.link
    assert email.link in email.body
    assert domain.get_customer("demo", "10000001").email == ALICE[0]
    assert can_log_in(domain, *ALICE)


def test_change_customer_login_email_without_profile_edit_scope_is_forbidden(domain):
    token = alice_token(domain, scopes=["customer.customer_read_own"])
    with pytest.raises(errors.MissingScope) as raised:
        domain.change_customer_login_email(token, *ALICE, "alice.new@example.com")
    assert raised.value.status == 403


@pytest.mark.parametrize(
    ("email", "password"),
    [(BOB[0], ALICE[1]), (ALICE[0], "wrong-password")],
    ids=["wrong-email", "wrong-password"],
)
def test_change_customer_login_email_wrong_credentials_are_rejected(domain, email, password):
    with pytest.raises(errors.InvalidCredentials):
        domain.change_customer_login_email(alice_token(domain), email, password, "alice.new@example.com")
    assert len(domain.outbox) == 0


@pytest.mark.parametrize(
    ("new_email", "error"),
    [
        ("not-an-email", errors.ValidationFailed),
        ("ALICE@example.com", errors.SameEmail),
        (BOB[0], errors.EmailAlreadyUsed),
    ],
    ids=["invalid", "same", "taken"],
)
def test_change_customer_login_email_bad_new_email_is_rejected(domain, new_email, error):
    with pytest.raises(error) as raised:
        domain.change_customer_login_email(alice_token(domain), *ALICE, new_email)
    assert raised.value.status == 400
    assert [detail.field for detail in raised.value.details] == ["new_email"]
    assert len(domain.outbox) == 0


# 5. Confirm the email change ------------------------------------------------------------------


def test_confirm_customer_login_email_replaces_login_email_only(domain):
    token = email_change_token(domain, "alice.new@example.com")
    customer = domain.confirm_customer_login_email("demo", token)
    assert (customer.email, customer.contact_email) == ("alice.new@example.com", ALICE[0])
    assert can_log_in(domain, "alice.new@example.com", ALICE[1])
    assert not can_log_in(domain, *ALICE)


def test_confirm_customer_login_email_with_sync_replaces_contact_email(domain):
    token = email_change_token(domain, "alice.new@example.com", sync=True)
    customer = domain.confirm_customer_login_email("demo", token)
    assert customer.contact_email == "alice.new@example.com"


def test_confirm_customer_login_email_old_email_no_longer_known(domain):
    domain.confirm_customer_login_email("demo", email_change_token(domain, "alice.new@example.com"))
    domain.outbox.clear()
    domain.request_reset_password("demo", ALICE[0])
    assert len(domain.outbox) == 0
    with pytest.raises(errors.NotFound):
        domain.customer_token("demo", ALICE[0])


def test_confirm_customer_login_email_token_is_single_use(domain):
    token = email_change_token(domain, "alice.new@example.com")
    domain.confirm_customer_login_email("demo", token)
    with pytest.raises(errors.InvalidEmailToken):
        domain.confirm_customer_login_email("demo", token)


def test_confirm_customer_login_email_token_is_bound_to_its_tenant(domain):
    token = email_change_token(domain, "alice.new@example.com")
    with pytest.raises(errors.InvalidEmailToken):
        domain.confirm_customer_login_email("acme", token)


def test_confirm_customer_login_email_new_email_taken_meanwhile_is_rejected(domain):
    token = email_change_token(domain, "alice.new@example.com")
    domain.create_customer("demo", "alice.new@example.com", "someone-else")
    with pytest.raises(errors.EmailAlreadyUsed) as raised:
        domain.confirm_customer_login_email("demo", token)
    assert raised.value.status == 400
    assert domain.get_customer("demo", "10000001").email == ALICE[0]


# State, customers, determinism ----------------------------------------------------------------


def test_create_customer_rejects_duplicate_and_bad_input(domain):
    with pytest.raises(errors.EmailAlreadyUsed):
        domain.create_customer("demo", "Alice@Example.com", "long-enough")
    with pytest.raises(errors.PasswordPolicyViolation):
        domain.create_customer("demo", "new@example.com", "short")
    with pytest.raises(errors.ValidationFailed):
        domain.create_customer("demo", "not-an-email", "long-enough")


def test_create_customer_stores_password_hashed(domain):
    customer = domain.create_customer("demo", "new@example.com", "secret-pass")
    assert "secret-pass" not in customer.password_hash
    assert can_log_in(domain, "new@example.com", "secret-pass")


def test_fixture_customers_load_whatever_the_password_policy(make_domain):
    domain = make_domain(password_min_length=20)
    assert can_log_in(domain, *ALICE)
    with pytest.raises(errors.PasswordPolicyViolation):
        domain.create_customer("demo", "new@example.com", "nineteen-characters")


def test_fixture_with_duplicate_email_is_rejected_naming_file(make_domain, tmp_path):
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(
        "tenants:\n  shop:\n    customers:\n"
        "      - {email: a@example.com, password: secret-1}\n"
        "      - {email: A@Example.com, password: secret-2}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError) as raised:
        make_domain(fixtures_path=fixtures)
    assert str(raised.value).startswith(f"{fixtures}: tenant 'shop', customer 'A@Example.com': ")
    assert "Duplicate account" in str(raised.value)


def test_reset_returns_to_fixtures(domain):
    domain.change_account_password(alice_token(domain), ALICE[1], "changed-pass")
    domain.create_customer("demo", "new@example.com", "secret-pass")
    domain.request_reset_password("demo", BOB[0])
    domain.clock.advance(500)
    domain.reset_state()
    assert can_log_in(domain, *ALICE)
    assert [c.email for c in domain.list_customers("demo")] == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert len(domain.outbox) == 0
    assert domain.clock.now() == START


def test_same_seed_gives_same_tokens_and_customer_ids(make_domain):
    def run(seed: int) -> tuple[list[str], list[str]]:
        domain = make_domain(seed=seed, fake_customers=2)
        created = domain.create_customer("demo", "new@example.com", "secret-pass")
        domain.request_reset_password("demo", ALICE[0])
        tokens = [
            domain.anonymous_login("demo").value,
            alice_token(domain).value,
            last_email(domain).token,
        ]
        ids = [c.id for c in domain.list_customers("demo")] + [created.id]
        return tokens, ids

    assert run(42) == run(42)
    assert run(42) != run(43)


@pytest.mark.parametrize("field", ["password_reset_link", "email_change_link"])
def test_domain_bad_link_template_is_refused_at_start(field):
    with pytest.raises(ValueError, match=r"placeholders \{tenant\}, \{token\} and \{email\}"):
        build_domain(Settings(**{field: "http://shop.example/?t={tokn}"}))


def test_request_reset_password_link_template_with_literal_braces():
    domain = build_domain(Settings(password_reset_link="http://shop.example/{{x}}/{token}"))
    domain.request_reset_password("demo", "alice@example.com")
    email = domain.outbox.latest()
    assert email.link == f"http://shop.example/{{x}}/{email.token}"


def test_customer_record_round_trips_through_the_store(make_domain, tmp_path):
    """Everything a customer is (profile, initial password, version) comes back from every store
    as it went in, and the rules that change it change it there."""
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(
        "tenants:\n  shop:\n    customers:\n"
        "      - {email: eve@example.com, password: eve-pass-1, initialPassword: true, company: Acme,\n"
        "         b2b: {companyRegistrationId: R-1}, mixins: {loyalty: {level: gold, points: [1, 2]}}}\n",
        encoding="utf-8",
    )
    domain = make_domain(fixtures_path=fixtures)
    [eve] = domain.list_customers("shop")
    assert (eve.initial_password, eve.version, eve.profile.company) == (True, 1, "Acme")
    assert eve.profile.mixins == {"loyalty": {"level": "gold", "points": [1, 2]}}
    assert domain.get_customer("shop", eve.id) == eve

    token = domain.customer_token("shop", "eve@example.com")
    domain.change_account_password(token, "eve-pass-1", "eve-pass-2")
    domain.change_customer_login_email(token, "eve@example.com", "eve-pass-2", "eve@new.example", True)
    changed = domain.confirm_customer_login_email("shop", domain.outbox.latest().token)

    assert changed == domain.get_customer("shop", eve.id)
    assert (changed.email, changed.contact_email) == ("eve@new.example", "eve@new.example")
    assert (changed.initial_password, changed.version, changed.profile) == (False, 2, eve.profile)


@pytest.mark.parametrize("kind", SHARED_STORES)
def test_shared_store_keeps_its_state_at_start_unless_reset_on_start(kind, store_urls):
    """A restart on a store that holds state finds it; the fixtures fill only an empty store."""
    url = store_urls(kind)

    def open_domain(**overrides: Any) -> Domain:
        return build_domain(Settings(seed=7, clock_start=START, state=url, **overrides))

    first = open_domain(reset_on_start=True)
    first.create_customer("demo", "kept@example.com", "kept-pass-1")
    first.change_account_password(first.customer_token("demo", ALICE[0]), ALICE[1], "changed-pass")
    first.close()

    restarted = open_domain()
    emails = [customer.email for customer in restarted.list_customers("demo")]
    assert emails == ["alice@example.com", "bob@example.com", "carol@example.com", "kept@example.com"]
    assert can_log_in(restarted, ALICE[0], "changed-pass")
    restarted.close()

    cleared = open_domain(reset_on_start=True)
    assert "kept@example.com" not in [customer.email for customer in cleared.list_customers("demo")]
    assert can_log_in(cleared, *ALICE)
    cleared.close()


def test_outbox_reads_every_email_newest_first(domain):
    """However many pages the store reads them in."""
    for _ in range(25):
        for email in (ALICE[0], BOB[0]):
            domain.request_reset_password("demo", email)
    emails = domain.outbox.find()
    assert len(emails) == len(domain.outbox) == 50
    assert [email.to for email in emails[:2]] == [BOB[0], ALICE[0]]
    assert [email.sent_at for email in emails] == sorted((email.sent_at for email in emails), reverse=True)
    assert len({email.id for email in emails}) == 50
    oldest_alice = domain.outbox.find(to=ALICE[0])[-1]
    assert oldest_alice == emails[-1]


# A reset between a rule's steps (perhaps on another instance) -------------------------------------
#
# A rule reads the customer, then writes; a reset in between removes the customer. The rule then
# answers as for a customer who is gone, and the store keeps no token of theirs.


def reset_before(monkeypatch: pytest.MonkeyPatch, domain: Domain, method: str) -> None:
    """The store's ``method`` runs right after a reset, as when another instance resets meanwhile."""
    original = getattr(domain.store, method)

    def after_a_reset(*arguments: Any, **options: Any) -> Any:
        domain.reset_state()
        return original(*arguments, **options)

    monkeypatch.setattr(domain.store, method, after_a_reset)


def test_customer_token_of_a_customer_removed_meanwhile_is_not_found(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    reset_before(monkeypatch, domain, "add_access_token")

    with pytest.raises(errors.NotFound):
        domain.customer_token("demo", "new@example.com")
    with pytest.raises(errors.InvalidCredentials):
        domain.customer_token("demo", "new@example.com", password="secret-pass")


def test_refresh_of_a_customer_removed_meanwhile_is_an_invalid_refresh_token(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    token = domain.customer_token("demo", "new@example.com")
    reset_before(monkeypatch, domain, "add_access_token")

    with pytest.raises(errors.InvalidRefreshToken) as raised:
        domain.refresh_customer_token("demo", token.refresh_token or "")
    assert [detail.field for detail in raised.value.details] == ["refresh_token"]


def test_reset_request_for_a_customer_removed_meanwhile_sends_nothing(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    reset_before(monkeypatch, domain, "replace_email_token")

    domain.request_reset_password("demo", "new@example.com")  # 204, as for an unknown email

    assert len(domain.outbox) == 0


def test_email_change_of_a_customer_removed_meanwhile_is_an_invalid_token(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    token = domain.customer_token("demo", "new@example.com")
    reset_before(monkeypatch, domain, "replace_email_token")

    with pytest.raises(errors.InvalidAccessToken):
        domain.change_customer_login_email(token, "new@example.com", "secret-pass", "newer@example.com")
    assert len(domain.outbox) == 0


def test_password_change_of_a_customer_removed_meanwhile_is_an_invalid_token(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    token = domain.customer_token("demo", "new@example.com")
    reset_before(monkeypatch, domain, "set_password_hash")

    with pytest.raises(errors.InvalidAccessToken):  # not "wrong current password"
        domain.change_account_password(token, "secret-pass", "another-pass")


def test_email_change_confirmed_for_a_customer_removed_meanwhile_is_an_invalid_token(domain, monkeypatch):
    domain.create_customer("demo", "new@example.com", "secret-pass")
    token = domain.customer_token("demo", "new@example.com")
    domain.change_customer_login_email(token, "new@example.com", "secret-pass", "newer@example.com")
    reset_before(monkeypatch, domain, "change_login_email")

    with pytest.raises(errors.InvalidEmailToken):  # not "email already used"
        domain.confirm_customer_login_email("demo", last_email(domain).token)


def test_store_keeps_no_token_of_a_customer_who_does_not_exist(domain):
    token = alice_token(domain)
    orphan = AccessToken(
        **{**token.__dict__, "value": "orphan", "customer_id": "99999999", "refresh_token": "r"}
    )

    assert domain.store.add_access_token(orphan) is False
    assert domain.store.access_token("orphan") is None
    assert domain.store.access_token_of_refresh_token("r") is None


def test_reset_refuses_bad_fixtures_before_touching_the_store(make_domain, tmp_path):
    domain = make_domain()
    domain.create_customer("demo", "new@example.com", "secret-pass")
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(
        "tenants:\n  shop:\n    customers:\n"
        "      - {email: a@example.com, password: x}\n      - {email: A@Example.com, password: y}\n"
    )
    domain.state.settings = dataclasses.replace(domain.settings, fixtures_path=fixtures)
    domain.load_fixtures()
    with pytest.raises(FixtureError):
        domain.reset_state()

    assert "new@example.com" in [customer.email for customer in domain.list_customers("demo")]


# Addresses and profile updates ----------------------------------------------------------------


def test_signup_address_round_trips_through_the_store(domain):
    address = Address(contact_name="Dora Doe", street="Platz der Republik", country="DE", tags=["BILLING"])
    created = domain.signup("demo", "dora@example.com", "dora-pass-1", address=address)
    [stored] = domain.get_customer("demo", created.id).profile.addresses
    assert stored == created.profile.addresses[0]
    assert (stored.contact_name, stored.street, stored.tags) == (
        "Dora Doe",
        "Platz der Republik",
        ["BILLING"],
    )
    assert stored.is_default and stored.id and stored.version == 1
    assert domain.get_customer("demo", created.id).profile.default_address == stored


def test_update_profile_changes_the_profile_and_its_version(domain):
    token = alice_token(domain)
    changed = domain.update_profile(token, {"firstName": "Alicia", "company": "Acme", "mixins": {"a": 1}})
    stored = domain.get_customer("demo", token.customer_id)
    assert stored == changed
    assert (stored.first_name, stored.profile.company, stored.profile.mixins) == ("Alicia", "Acme", {"a": 1})
    assert (stored.email, stored.version) == (ALICE[0], 2)
    assert domain.update_profile(token, {"company": None, "mixins": {"a": None}}).version == 3
    stored = domain.get_customer("demo", token.customer_id)
    assert (stored.profile.company, stored.profile.mixins) == (None, {})


def test_update_profile_keeps_the_addresses(domain):
    created = domain.signup("demo", "dora@example.com", "dora-pass-1", address=Address(contact_name="Dora"))
    token = domain.customer_token("demo", "dora@example.com")
    domain.update_profile(token, {"lastName": "Doe"})
    assert domain.get_customer("demo", created.id).profile.addresses == created.profile.addresses


def test_update_profile_with_a_stale_version_is_refused(domain):
    token = alice_token(domain)
    domain.update_profile(token, {"firstName": "Al"}, version=1)
    with pytest.raises(errors.StaleVersion) as raised:
        domain.update_profile(token, {"firstName": "Other"}, version=1)
    assert raised.value.status == 400
    assert domain.get_customer("demo", token.customer_id).first_name == "Al"


def test_update_profile_keeps_a_password_changed_meanwhile(domain):
    """A profile update writes the profile only: a password changed since is not put back."""
    token = alice_token(domain)
    domain.change_account_password(token, ALICE[1], "changed-pass")
    domain.update_profile(token, {"title": "DR"})
    assert can_log_in(domain, ALICE[0], "changed-pass")
    assert not can_log_in(domain, *ALICE)


def test_replace_profile_stores_only_at_the_version_read(domain):
    customer = domain.get_customer("demo", alice_token(domain).customer_id)
    renamed = dataclasses.replace(customer, first_name="First", email="ignored@example.com")
    assert domain.store.replace_profile(renamed, version=customer.version)
    assert not domain.store.replace_profile(
        dataclasses.replace(customer, first_name="Late"), version=customer.version
    )
    stored = domain.get_customer("demo", customer.id)
    assert (stored.first_name, stored.email, stored.version) == ("First", ALICE[0], customer.version + 1)


def test_update_profile_contact_email_is_checked_and_never_removed(domain):
    token = alice_token(domain)
    for removed in (None, ""):
        with pytest.raises(errors.ValidationFailed):
            domain.update_profile(token, {"contactEmail": removed})
    with pytest.raises(errors.ValidationFailed):
        domain.update_profile(token, {"contactEmail": "not-an-address"})
    assert (
        domain.update_profile(token, {"contactEmail": "Alice@Work.EXAMPLE"}).contact_email
        == "Alice@work.example"
    )
    assert domain.get_customer("demo", token.customer_id).email == ALICE[0]


def test_update_profile_needs_the_profile_edit_scope(domain):
    token = alice_token(domain, scopes=["customer.customer_read_own"])
    with pytest.raises(errors.MissingScope):
        domain.update_profile(token, {"firstName": "X"})
    assert domain.get_customer("demo", token.customer_id).first_name != "X"


def test_addresses_added_updated_tagged_and_deleted_in_the_store(domain):
    token = alice_token(domain)
    home = domain.add_address(token, Address(contact_name="Alice", city="Berlin", tags=["SHIPPING"]))
    office = domain.add_address(token, Address(contact_name="Alice", city="Hamburg"))
    assert (home.is_default, office.is_default) == (True, False)
    assert domain.list_addresses(token) == [home, office]

    moved = domain.update_address(token, office.id, {"city": "Bremen"}, is_default=True)
    domain.add_address_tags(token, home.id, ["BILLING", "SHIPPING"])
    stored = {
        address.id: address for address in domain.get_customer("demo", token.customer_id).profile.addresses
    }
    assert (stored[office.id].city, stored[office.id].is_default, stored[office.id].version) == (
        "Bremen",
        True,
        2,
    )
    assert stored[office.id] == moved
    assert (stored[home.id].is_default, stored[home.id].tags) == (False, ["SHIPPING", "BILLING"])

    domain.remove_address_tags(token, home.id, ["SHIPPING"])
    domain.delete_address(token, office.id)
    [left] = domain.list_addresses(token)
    assert (left.id, left.tags) == (home.id, ["BILLING"])
    with pytest.raises(errors.NotFound):
        domain.get_address(token, office.id)


def test_address_update_with_a_stale_version_is_refused(domain):
    token = alice_token(domain)
    home = domain.add_address(token, Address(contact_name="Alice"))
    domain.update_address(token, home.id, {"city": "Bonn"}, version=1)
    with pytest.raises(errors.StaleVersion):
        domain.update_address(token, home.id, {"city": "Köln"}, version=1)
    assert domain.get_address(token, home.id).city == "Bonn"


def test_address_changes_need_the_profile_edit_scope(domain):
    token = alice_token(domain, scopes=["customer.customer_read_own"])
    with pytest.raises(errors.MissingScope):
        domain.add_address(token, Address(contact_name="Alice"))
    assert domain.list_addresses(token) == []


# The outbox keeps each email's SMTP delivery in the store ------------------------------------------


def test_outbox_keeps_each_delivery_beside_its_email_and_drops_it_with_the_email(domain):
    store = domain.store

    def email(number: int, delivery: Delivery | None = None) -> Email:
        return Email(
            id=f"email-{number}",
            tenant="demo",
            to=ALICE[0],
            kind=PASSWORD_RESET,
            subject="Reset your password",
            body="...",
            token=f"token-{number}",
            link="",
            customer_id="10000001",
            sent_at=START,
            delivery=delivery,
        )

    def deliveries() -> list[tuple[str, Delivery | None]]:
        return [(kept.id, kept.delivery) for kept in store.emails()]

    store.add_email(email(0, Delivery()), 2)
    store.add_email(email(1, Delivery()), 2)
    store.set_delivery("email-0", Delivery(SENT, None, START + 1))
    assert deliveries() == [("email-1", Delivery()), ("email-0", Delivery(SENT, None, START + 1))]

    store.add_email(email(2, Delivery()), 2)  # email-0 falls off, and its delivery with it
    store.set_delivery("email-0", Delivery(FAILED, "too late", START + 2))  # kept nowhere
    store.set_delivery("email-2", Delivery(FAILED, "the server answered 550", START + 3))
    assert deliveries() == [
        ("email-2", Delivery(FAILED, "the server answered 550", START + 3)),
        ("email-1", Delivery()),
    ]

    store.add_email(email(3), 2)  # no SMTP: no delivery, and none can be set
    store.set_delivery("email-3", Delivery(SENT, None, START + 4))
    assert deliveries() == [
        ("email-3", None),
        ("email-2", Delivery(FAILED, "the server answered 550", START + 3)),
    ]

    domain.outbox.clear()
    store.add_email(email(4), 2)
    store.set_delivery("email-2", Delivery(SENT, None, START + 5))
    assert deliveries() == [("email-4", None)]

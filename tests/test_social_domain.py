"""Double opt-in and the identity provider on the domain alone, over each store (memory, a
SQLite file, a Redis server): activation, single-use codes and the signing key hold the same in
every store, and the shared stores share them between instances."""

from __future__ import annotations

import pytest

from credmock.app import build_domain
from credmock.core import exceptions as errors
from credmock.core.messages import SIGNUP_CONFIRMATION
from credmock.domain import Domain
from credmock.settings import Settings
from tests.stores import SHARED_STORES
from tests.test_domain import START, make_domain  # noqa: F401 (the fixture)

REDIRECT_URI = "https://shop.example/callback"
ISSUER = "http://127.0.0.1:8080/_mock/idp"


def authorize(domain: Domain, email: str = "alice@example.com") -> str:
    return domain.idp_authorize("shop", REDIRECT_URI, email=email, issuer=ISSUER)


def test_inactive_account_logs_in_after_its_activation_only(make_domain) -> None:  # noqa: F811
    domain = make_domain(double_opt_in=("demo",))
    customer = domain.signup("demo", "nia@example.com", "nia-pass-1")
    token = domain.outbox.latest(kind=SIGNUP_CONFIRMATION).token

    with pytest.raises(errors.AccountNotActivated):
        domain.login("demo", "nia@example.com", "nia-pass-1")
    session = domain.confirm_signup("demo", token)

    assert session.customer_id == customer.id
    assert domain.login("demo", "nia@example.com", "nia-pass-1").customer_id == customer.id
    with pytest.raises(errors.InvalidEmailToken):
        domain.confirm_signup("demo", token)


def test_a_code_is_spent_once_and_a_reset_forgets_codes_but_keeps_the_key(make_domain) -> None:  # noqa: F811
    domain = make_domain()
    spent, kept = authorize(domain), authorize(domain)
    key = domain.idp_jwks()

    domain.social_login("demo", spent, REDIRECT_URI)
    with pytest.raises(errors.InvalidGrant):
        domain.social_login("demo", spent, REDIRECT_URI)
    domain.reset_state()

    with pytest.raises(errors.InvalidGrant):
        domain.social_login("demo", kept, REDIRECT_URI)
    assert domain.idp_jwks() == key


@pytest.mark.parametrize("kind", SHARED_STORES)
def test_instances_on_one_store_share_codes_and_the_signing_key(kind: str, store_urls) -> None:
    url = store_urls(kind)
    first = build_domain(Settings(clock_start=START, state=url, reset_on_start=True))
    second = build_domain(Settings(clock_start=START, state=url))
    try:
        code = authorize(first, "sam@example.com")
        session, tokens = second.social_login("demo", code, REDIRECT_URI)
        claims = first.identity_provider.verified_claims(
            tokens["access_token"], issuer=ISSUER, audience=first.settings.idp_audience
        )

        assert first.idp_jwks() == second.idp_jwks()
        assert claims["email"] == "sam@example.com"
        assert first.get_customer("demo", session.customer_id or "").email == "sam@example.com"
    finally:
        first.close()
        second.close()

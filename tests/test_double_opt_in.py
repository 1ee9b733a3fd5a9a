"""Double opt-in: per tenant (fixtures ``doubleOptIn: true``, ``--double-opt-in TENANT`` or
``'*'``), a signup creates an inactive account and emails an activation link; the link activates
the account once and signs the customer in; login waits for it; a resend replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from credmock.app import create_app
from credmock.core.seeding import FixtureError
from credmock.settings import Settings
from tests.conftest import ALICE, INVALID_TOKEN_FAULT, TENANT, bearer, error_body
from tests.test_smtp import parse, smtp, wait_for  # noqa: F401 (the smtp fixture)

NEW = {"email": "nia@example.com", "password": "nia-pass-1"}
ACTIVATION = "signup-confirmation"


def sign_up(client, tenant: str = TENANT, **body) -> None:
    response = client.post(
        f"/customer/{tenant}/signup",
        headers=bearer(client.anonymous_token(tenant)),
        json={**NEW, "customerDetails": {"firstName": "Nia"}, **body},
    )
    assert response.status_code == 201, response.text


def log_in(client, tenant: str = TENANT, **credentials):
    return client.post(
        f"/customer/{tenant}/login",
        headers=bearer(client.anonymous_token(tenant)),
        json={"email": NEW["email"], "password": NEW["password"], **credentials},
    )


def confirm(client, token: str, tenant: str = TENANT):
    return client.get(
        f"/customer/{tenant}/signup/optin/{token}", headers=bearer(client.anonymous_token(tenant))
    )


def resend(client, email: str = NEW["email"], tenant: str = TENANT):
    return client.post(
        f"/customer/{tenant}/signup/optin/refresh_token",
        headers=bearer(client.anonymous_token(tenant)),
        json={"email": email},
    )


def activation_token(client) -> str:
    return client.latest_email(kind=ACTIVATION, to=NEW["email"])["token"]


@pytest.fixture
def opt_in_client(client_with):
    return client_with(double_opt_in=(TENANT,))


def test_without_double_opt_in_signup_logs_in_at_once_and_sends_nothing(client) -> None:
    sign_up(client)

    assert log_in(client).status_code == 200
    assert client.outbox(kind=ACTIVATION) == []


def test_double_opt_in_signup_sends_the_activation_email_and_login_waits_for_it(opt_in_client) -> None:
    sign_up(opt_in_client)

    email = opt_in_client.latest_email(kind=ACTIVATION)
    refused = log_in(opt_in_client)
    wrong_password = log_in(opt_in_client, password="not-the-password")

    assert email["to"] == NEW["email"]
    assert email["subject"] == "Activate your account"
    assert "Hello Nia," in email["body"] and email["link"] in email["body"]
    assert email["link"] == f"http://localhost:3000/confirm-signup?tenant={TENANT}&token={email['token']}"
    assert "Activate my account" in email["html"]
    assert refused.status_code == 401
    assert refused.json()["fault"]["detail"]["errorcode"] == "account_not_activated"
    # A wrong password answers as for any account: it never tells the account exists.
    assert wrong_password.status_code == 401
    assert wrong_password.json()["fault"]["detail"]["errorcode"] == "invalid_credentials"


def test_activation_link_signs_in_once_and_login_works_after(opt_in_client) -> None:
    sign_up(opt_in_client)
    token = activation_token(opt_in_client)

    first = confirm(opt_in_client, token)
    again = confirm(opt_in_client, token)

    assert first.status_code == 200
    me = opt_in_client.get(f"/customer/{TENANT}/me", headers=bearer(first.json()["access_token"]))
    assert me.json()["firstName"] == "Nia"
    assert error_body(again, 400)["type"] == "invalid_token"
    assert log_in(opt_in_client).status_code == 200


def test_activation_link_expires(client_with) -> None:
    client = client_with(double_opt_in=(TENANT,), signup_confirmation_token_lifetime=60)
    sign_up(client)
    token = activation_token(client)

    client.advance_clock(61)

    assert error_body(confirm(client, token), 400)["type"] == "invalid_token"
    assert log_in(client).status_code == 401


def test_resend_replaces_the_link_and_answers_202_whatever_the_email(opt_in_client) -> None:
    sign_up(opt_in_client)
    old = activation_token(opt_in_client)

    resent = resend(opt_in_client)
    new = activation_token(opt_in_client)

    assert resent.status_code == 202 and resent.content == b""
    assert new != old
    assert error_body(confirm(opt_in_client, old), 400)["type"] == "invalid_token"
    assert confirm(opt_in_client, new).status_code == 200
    # An active account, an unknown email: the same 202, and no email.
    sent = len(opt_in_client.outbox(kind=ACTIVATION))
    assert resend(opt_in_client).status_code == 202
    assert resend(opt_in_client, email="nobody@example.com").status_code == 202
    assert resend(opt_in_client, email=ALICE["email"]).status_code == 202
    assert len(opt_in_client.outbox(kind=ACTIVATION)) == sent


def test_activation_token_of_another_tenant_is_refused(client_with) -> None:
    client = client_with(double_opt_in=("*",))
    sign_up(client, tenant="acme")
    token = activation_token(client)

    assert error_body(confirm(client, token, tenant=TENANT), 400)["type"] == "invalid_token"
    assert confirm(client, token, tenant="acme").status_code == 200


def test_resend_with_a_malformed_email_names_the_field(opt_in_client) -> None:
    body = error_body(resend(opt_in_client, email="not an email"), 400)

    assert [detail["field"] for detail in body["details"]] == ["email"]


def test_confirm_without_a_token_is_401(opt_in_client) -> None:
    response = opt_in_client.get(f"/customer/{TENANT}/signup/optin/whatever")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN_FAULT


def test_fixtures_turn_double_opt_in_on_for_one_tenant(client_with, tmp_path: Path) -> None:
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(
        "tenants:\n  demo:\n    doubleOptIn: true\n    customers: []\n  acme:\n    customers: []\n",
        encoding="utf-8",
    )
    client = client_with(fixtures_path=fixtures)

    sign_up(client, tenant="demo")
    sign_up(client, tenant="acme")

    assert [email["tenant"] for email in client.outbox(kind=ACTIVATION)] == ["demo"]
    assert log_in(client, tenant="acme").status_code == 200
    assert log_in(client, tenant="demo").status_code == 401


def test_fixtures_double_opt_in_that_is_not_a_boolean_stops_the_start(tmp_path: Path) -> None:
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text("tenants:\n  demo:\n    doubleOptIn: sometimes\n", encoding="utf-8")

    with pytest.raises(FixtureError, match="'doubleOptIn' must be true or false"):
        create_app(Settings(fixtures_path=fixtures))


def test_activation_email_is_delivered_over_smtp(client_with, smtp) -> None:  # noqa: F811
    url, recorder = smtp
    client = client_with(double_opt_in=(TENANT,), smtp_url=url)

    sign_up(client)

    [envelope] = wait_for(lambda: recorder.envelopes, "the delivery")
    message = parse(envelope)
    assert message["X-Credmock-Kind"] == ACTIVATION
    assert message["X-Credmock-Token"] == activation_token(client)
    assert envelope.rcpt_tos == [NEW["email"]]


def test_signup_confirmation_link_template_is_used_and_checked(client_with) -> None:
    client = client_with(
        double_opt_in=(TENANT,), signup_confirmation_link="https://shop.test/activate/{tenant}/{token}"
    )
    sign_up(client)

    assert (
        client.latest_email(kind=ACTIVATION)["link"]
        == f"https://shop.test/activate/demo/{activation_token(client)}"
    )
    with pytest.raises(ValueError, match="--signup-confirmation-link"):
        create_app(Settings(signup_confirmation_link="https://shop.test/{nope}"))


def test_double_opt_in_option_and_its_variable_name_the_tenants() -> None:
    from credmock.tools.cli import build_parser, settings_from_arguments

    given = build_parser({}).parse_args(["serve", "--double-opt-in", "demo", "--double-opt-in", "acme"])
    from_variable = build_parser({"CREDMOCK_DOUBLE_OPT_IN": "demo, acme"}).parse_args(["serve"])

    assert settings_from_arguments(given).double_opt_in == ("demo", "acme")
    assert settings_from_arguments(from_variable).double_opt_in == ("demo", "acme")
    assert settings_from_arguments(build_parser({}).parse_args(["serve"])).double_opt_in == ()

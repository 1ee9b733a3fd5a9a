"""Double opt-in (spec/storefront.yaml): activating an account by its emailed token, which signs
the customer in, and sending the activation link again."""

from __future__ import annotations

from typing import Any

from credmock.handlers.fields import require_text
from credmock.handlers.storefront import customer_token_body, saas_token

from credmock.domain import Domain

# The reference's answer to a resend: accepted, no body.
ACCEPTED = (None, 202)


def confirm_signup(domain: Domain, tenant: str, token: str) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/signup/optin/{token}: the account is active; a customer token, as a
    login answers (without ``initialPassword``: a customer who chose their password)."""
    session = domain.confirm_signup(tenant, require_text(token, "token"))
    saas = saas_token(session)
    return {**customer_token_body(domain, session), "saas_token": saas, "saasToken": saas}, 200


def resend_activation(domain: Domain, tenant: str, body: dict[str, Any]) -> tuple[None, int]:
    """POST /customer/{tenant}/signup/optin/refresh_token: a new activation link, if the email has
    an account waiting for one."""
    domain.resend_activation(tenant, require_text(body.get("email"), "email"))
    return ACCEPTED


OPERATIONS = {
    "GET-customer-signup-customer-optin": confirm_signup,
    "POST-customer-refresh-token": resend_activation,
}

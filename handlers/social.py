"""Signing in through an identity provider (spec/storefront.yaml): ``socialLogin`` with the
provider's authorization code, ``exchangeauthtoken`` with its access token. The provider is the
mock's own (handlers/idp.py)."""

from __future__ import annotations

from typing import Any

from credmock.handlers.fields import require_text, wire_names
from credmock.handlers.idp import issuer_of_request
from credmock.handlers.storefront import saas_token

from credmock.domain import Domain
from credmock.http.request_context import request_header


def social_login(
    domain: Domain, tenant: str, code: str, redirect_uri: str, code_verifier: str | None = None
) -> tuple[dict[str, Any], int]:
    """POST /customer/{tenant}/socialLogin: a customer token for the provider's code, and the
    provider's tokens; the anonymous session of the ``session-id`` header continues."""
    with wire_names(**{"session-id": "session_id"}):
        session, provider = domain.social_login(
            tenant,
            require_text(code, "code"),
            require_text(redirect_uri, "redirect_uri"),
            code_verifier=code_verifier,
            session_id=request_header("session-id"),
        )
    return {
        "access_token": session.value,
        "saas_token": saas_token(session),
        # Strings, as the reference declares them for this operation.
        "expires_in": str(session.expires_in),
        "refresh_token": session.refresh_token,
        "refresh_token_expires_in": str(domain.settings.refresh_token_lifetime),
        "token_type": "Bearer",
        "scope": session.scope,
        "session_id": session.session_id,
        "social_access_token": provider["access_token"],
        "social_id_token": provider["id_token"],
    }, 200


def exchange_auth_token(
    domain: Domain, tenant: str, subjectAccessToken: str, config: str | None = None
) -> tuple[dict[str, Any], int]:
    """POST /customer/{tenant}/exchangeauthtoken: a customer token for the provider's access token."""
    with wire_names(subjectAccessToken="subject_access_token"):
        session = domain.exchange_auth_token(
            tenant,
            require_text(subjectAccessToken, "subjectAccessToken"),
            issuer=issuer_of_request(domain),
            config=config,
        )
    return {
        "subject_access_token": subjectAccessToken,
        "access_token": session.value,
        "saas_token": saas_token(session),
        "expires_in": session.expires_in,
        "refresh_token": session.refresh_token,
        "refresh_token_expires_in": domain.settings.refresh_token_lifetime,
        "token_type": "Bearer",
        "scope": session.scope,
        "session_id": session.session_id,
    }, 200


OPERATIONS = {
    "POST-customer-login-customer-by-auth0": social_login,
    "POST-customer-exchange-authtoken": exchange_auth_token,
}

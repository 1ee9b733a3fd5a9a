"""The Emporix endpoints a storefront calls around the credential flows (spec/storefront.yaml):
anonymous token, signup, login, token refresh and validation, logout, profile. Read the
request, call the domain, answer with the real service's field names.

The tokens are the backend's own, so the credential operations accept them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from credmock.backend import CredentialsBackend
from credmock.models import ANONYMOUS, CUSTOMER, DEFAULT_SITE, AccessToken, CustomerProfile

NO_CONTENT = (None, 204)
# Fields the deprecated anonymous refresh (by ``anonymous_token``) does not answer.
DEPRECATED_REFRESH_OMITS = frozenset({"refresh_token", "refresh_token_expires_in"})
Body = dict[str, Any]
# What the real service shows for an anonymous token at /me.
ANONYMOUS_PROFILE = {
    "id": "00000000",
    "customerNumber": "00000000",
    "firstName": "Anonymous",
    "lastName": "Anonymous",
    "preferredSite": DEFAULT_SITE,
    "accounts": [],
}


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def saas_token(token: AccessToken) -> str:
    """A JWT-shaped SaaS token naming the customer (``sub``) and the expiry (``exp``), as the real
    one does. Its signature is a digest of the access token: the mock never checks it."""
    header = _base64url(json.dumps({"alg": "HS256"}).encode())
    payload = _base64url(json.dumps({"sub": token.customer_id, "exp": int(token.expires_at)}).encode())
    signature = _base64url(hashlib.sha256(f"{header}.{payload}.{token.value}".encode()).digest())
    return f"{header}.{payload}.{signature}"


def anonymous_token_body(backend: CredentialsBackend, token: AccessToken) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "access_token": token.value,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "refresh_token_expires_in": backend.settings.refresh_token_lifetime,
        "sessionId": token.session_id,
        "scope": token.scope,
    }


def customer_token_body(backend: CredentialsBackend, token: AccessToken) -> dict[str, Any]:
    """The snake_case fields, and the deprecated camelCase ones older storefronts still read."""
    refresh_lifetime = backend.settings.refresh_token_lifetime
    return {
        "access_token": token.value,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "refresh_token_expires_in": refresh_lifetime,
        "token_type": "Bearer",
        "session_id": token.session_id,
        "accessToken": token.value,
        "expiresIn": token.expires_in,
        "refreshToken": token.refresh_token,
        "refreshTokenExpiresIn": refresh_lifetime,
    }


def anonymous_login(backend: CredentialsBackend, tenant: str, client_id: str) -> tuple[dict[str, Any], int]:
    """GET /customerlogin/auth/anonymous/login: a new anonymous token, a new session."""
    return anonymous_token_body(backend, backend.issue_anonymous_token(tenant)), 200


def anonymous_refresh(
    backend: CredentialsBackend,
    tenant: str,
    client_id: str,
    refresh_token: str | None = None,
    anonymous_token: str | None = None,
) -> tuple[dict[str, Any], int]:
    """GET /customerlogin/auth/anonymous/refresh: a new anonymous token, the same session; by
    ``refresh_token``, or by the deprecated ``anonymous_token`` (the access token) without one."""
    if refresh_token is None and anonymous_token is not None:
        token = backend.refresh_by_access_token(
            tenant, anonymous_token, kind=ANONYMOUS, field="anonymous_token"
        )
        body = anonymous_token_body(backend, token)
        # The real service's deprecated answer: the next refresh sends the new access token.
        return {name: value for name, value in body.items() if name not in DEPRECATED_REFRESH_OMITS}, 200
    token = backend.refresh_access_token(tenant, refresh_token, kind=ANONYMOUS, field="refresh_token")
    return anonymous_token_body(backend, token), 200


def signup(backend: CredentialsBackend, tenant: str, body: Body) -> tuple[dict[str, str], int]:
    """POST /customer/{tenant}/signup: a new customer with the profile of ``customerDetails``;
    ``signup`` holds separate login credentials."""
    details = body.get("customerDetails") or {}
    credentials = body.get("signup") or {}
    customer = backend.signup(
        tenant,
        body.get("email"),
        body.get("password"),
        signup_email=credentials.get("email"),
        signup_password=credentials.get("password"),
        first_name=details.get("firstName", ""),
        last_name=details.get("lastName", ""),
        contact_email=details.get("contactEmail"),
        profile=CustomerProfile.from_details(details, "customerDetails."),
    )
    return {"id": customer.id}, 201


def login(backend: CredentialsBackend, tenant: str, body: Body) -> tuple[dict[str, Any], int]:
    """POST /customer/{tenant}/login: a customer token and its SaaS token; ``initialPassword``
    tells whether the password is still the one an employee set."""
    token = backend.login(tenant, body.get("email"), body.get("password"))
    customer = backend.profile(token)
    saas = saas_token(token)
    return {
        **customer_token_body(backend, token),
        "saas_token": saas,
        "saasToken": saas,
        "initialPassword": bool(customer and customer.initial_password),
    }, 200


def refresh_customer_token(
    backend: CredentialsBackend, tenant: str, refreshToken: str
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/refreshauthtoken: a new customer token for the same session."""
    token = backend.refresh_access_token(tenant, refreshToken, kind=CUSTOMER, field="refreshToken")
    return customer_token_body(backend, token), 200


def validate_token(
    backend: CredentialsBackend, tenant: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/validateauthtoken: what the customer token is, while it is valid."""
    token = token_info["access_token"]
    seconds_left, customer = backend.validate_token(token)
    return {
        "token_type": "Bearer",
        "expires_in": seconds_left,
        "scope": token.scope,
        "sessionId": token.session_id,
        "email": customer.email,
    }, 200


def logout(
    backend: CredentialsBackend, tenant: str, accessToken: str, token_info: dict[str, Any]
) -> tuple[None, int]:
    """GET /customer/{tenant}/logout: the session of ``accessToken`` ends."""
    backend.logout(token_info["access_token"], accessToken)
    return NO_CONTENT


def get_profile(
    backend: CredentialsBackend, tenant: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/me: the customer's profile, or the anonymous one."""
    customer = backend.profile(token_info["access_token"])
    return (customer.profile_view() if customer else ANONYMOUS_PROFILE), 200


OPERATIONS = {
    "GET-oauth-generate-anonymous-access-token": anonymous_login,
    "GET-oauth-refresh-anonymous-access-token": anonymous_refresh,
    "POST-customer-create-customer-account": signup,
    "POST-customer-authenticate-customer": login,
    "GET-customer-refresh-authtoken": refresh_customer_token,
    "GET-customer-validate-token": validate_token,
    "GET-customer-logout-customer": logout,
    "GET-customer-retrieve-customer-profile": get_profile,
}

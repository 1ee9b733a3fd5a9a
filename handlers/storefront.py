"""The Emporix endpoints a storefront calls around the credential flows (spec/storefront.yaml):
anonymous token, signup, login, token refresh, logout, profile. Read the request, call the
domain, answer with the real service's field names.

The tokens are the domain's own, so the credential operations accept them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from credmock.handlers.fields import require_text, require_texts

from credmock.domain import Domain
from credmock.domain.customers import normalise_email
from credmock.models import AccessToken

NO_CONTENT = (None, 204)
Body = dict[str, Any]
# What the real service shows for an anonymous token at /me.
ANONYMOUS_PROFILE = {
    "id": "00000000",
    "customerNumber": "00000000",
    "firstName": "Anonymous",
    "lastName": "Anonymous",
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


def anonymous_token_body(domain: Domain, token: AccessToken) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "access_token": token.value,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "refresh_token_expires_in": domain.settings.refresh_token_lifetime,
        "sessionId": token.session_id,
        "scope": token.scope,
    }


def customer_token_body(domain: Domain, token: AccessToken) -> dict[str, Any]:
    """The snake_case fields, and the deprecated camelCase ones older storefronts still read."""
    refresh_lifetime = domain.settings.refresh_token_lifetime
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


def anonymous_login(domain: Domain, tenant: str, client_id: str) -> tuple[dict[str, Any], int]:
    """GET /customerlogin/auth/anonymous/login: a new anonymous token, a new session."""
    return anonymous_token_body(domain, domain.anonymous_login(tenant)), 200


def anonymous_refresh(
    domain: Domain, tenant: str, refresh_token: str, client_id: str
) -> tuple[dict[str, Any], int]:
    """GET /customerlogin/auth/anonymous/refresh: a new anonymous token, the same session."""
    token = domain.anonymous_refresh(tenant, require_text(refresh_token, "refresh_token"))
    return anonymous_token_body(domain, token), 200


def signup(domain: Domain, tenant: str, body: Body) -> tuple[dict[str, str], int]:
    """POST /customer/{tenant}/signup: a new customer. When ``signup`` holds separate credentials,
    they are the login, and the top-level email is the contact email."""
    details = body.get("customerDetails") or {}
    credentials = body.get("signup") or {}
    contact_email = details.get("contactEmail")
    if credentials.get("email") is None and credentials.get("password") is None:
        login = body
    else:
        login = credentials
        if contact_email is None and body.get("email"):
            contact_email = normalise_email(require_text(body["email"], "email"), "email")
    email, password = require_texts(email=login.get("email"), password=login.get("password"))
    customer = domain.signup(
        tenant,
        email,
        password,
        first_name=details.get("firstName", ""),
        last_name=details.get("lastName", ""),
        contact_email=contact_email,
    )
    return {"id": customer.id}, 201


def login(domain: Domain, tenant: str, body: Body) -> tuple[dict[str, Any], int]:
    """POST /customer/{tenant}/login: a customer token and its SaaS token."""
    email, password = require_texts(email=body.get("email"), password=body.get("password"))
    token = domain.login(tenant, email, password)
    saas = saas_token(token)
    return {**customer_token_body(domain, token), "saas_token": saas, "saasToken": saas}, 200


def refresh_customer_token(
    domain: Domain, tenant: str, refreshToken: str
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/refreshauthtoken: a new customer token for the same session."""
    token = domain.refresh_customer_token(tenant, require_text(refreshToken, "refreshToken"))
    return customer_token_body(domain, token), 200


def logout(
    domain: Domain, tenant: str, accessToken: str, token_info: dict[str, Any]
) -> tuple[None, int]:
    """GET /customer/{tenant}/logout: the session of ``accessToken`` ends."""
    domain.logout(token_info["access_token"], require_text(accessToken, "accessToken"))
    return NO_CONTENT


def get_profile(
    domain: Domain, tenant: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/me: the customer's profile, or the anonymous one."""
    customer = domain.get_profile(token_info["access_token"])
    return (customer.profile_view() if customer else ANONYMOUS_PROFILE), 200


OPERATIONS = {
    "GET-oauth-generate-anonymous-access-token": anonymous_login,
    "GET-oauth-refresh-anonymous-access-token": anonymous_refresh,
    "POST-customer-create-customer-account": signup,
    "POST-customer-authenticate-customer": login,
    "GET-customer-refresh-authtoken": refresh_customer_token,
    "GET-customer-logout-customer": logout,
    "GET-customer-retrieve-customer-profile": get_profile,
}

"""The Emporix endpoints a storefront calls around the credential flows (spec/storefront.yaml):
anonymous token, signup, login, token refresh and validation, logout, profile and its update. Read the
request, call the rule of the same name, answer with the real service's field names.

The tokens are the domain's own, so the credential operations accept them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from credmock.handlers.addresses import NO_CONTENT, OK_WITHOUT_BODY, without_version
from credmock.handlers.addresses import OPERATIONS as ADDRESS_OPERATIONS
from credmock.handlers.fields import require_text, require_texts, wire_names

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email, same_email
from credmock.core.models import (
    DEFAULT_CURRENCY,
    DEFAULT_LANGUAGE,
    DEFAULT_SITE,
    AccessToken,
    Address,
    CustomerProfile,
)
from credmock.domain import Domain
from credmock.domain.profile import check_company_details

# The profile's fields the domain's errors name, by their wire names.
PROFILE_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "company": "company",
    "contactEmail": "contact_email",
}
# ... and those of a profile update.
PROFILE_UPDATE_FIELDS = {**PROFILE_FIELDS, "metadata.version": "version"}
# Fields the deprecated anonymous refresh (by ``anonymous_token``) does not answer.
DEPRECATED_REFRESH_OMITS = frozenset({"refresh_token", "refresh_token_expires_in"})
Body = dict[str, Any]
# What the real service shows for an anonymous token at /me.
ANONYMOUS_PROFILE = {
    "id": "00000000",
    "customerNumber": "00000000",
    "firstName": "Anonymous",
    "lastName": "Anonymous",
    "preferredLanguage": DEFAULT_LANGUAGE,
    "preferredCurrency": DEFAULT_CURRENCY,
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
    domain: Domain,
    tenant: str,
    client_id: str,
    refresh_token: str | None = None,
    anonymous_token: str | None = None,
) -> tuple[dict[str, Any], int]:
    """GET /customerlogin/auth/anonymous/refresh: a new anonymous token, the same session; by
    ``refresh_token``, or by the deprecated ``anonymous_token`` (the access token) without one."""
    if refresh_token is None and anonymous_token is not None:
        with wire_names(anonymous_token="access_token"):
            token = domain.anonymous_refresh(
                tenant, access_token=require_text(anonymous_token, "anonymous_token")
            )
        body = anonymous_token_body(domain, token)
        # The real service's deprecated answer: the next refresh sends the new access token.
        return {name: value for name, value in body.items() if name not in DEPRECATED_REFRESH_OMITS}, 200
    token = domain.anonymous_refresh(tenant, refresh_token=require_text(refresh_token, "refresh_token"))
    return anonymous_token_body(domain, token), 200


def check_signup_details(
    email: Any, contact_email: Any, first_name: str, last_name: str, profile: CustomerProfile
) -> None:
    """``customerDetails.contactEmail``, when given, is ``email``; a company registration id needs
    the first name, last name and company."""
    field = "customerDetails.contactEmail"
    if (
        contact_email is not None
        and isinstance(email, str)
        and not (isinstance(contact_email, str) and same_email(contact_email, email))
    ):
        raise errors.ValidationFailed.for_field(
            field, "invalid_value", f"'{field}' must be the same as 'email'."
        )
    with wire_names(**{f"customerDetails.{wire}": name for wire, name in PROFILE_FIELDS.items()}):
        check_company_details(first_name, last_name, profile)


def signup(domain: Domain, tenant: str, body: Body) -> tuple[dict[str, str], int]:
    """POST /customer/{tenant}/signup: a new customer with the profile of ``customerDetails``.
    ``email`` is the contact email; separate ``signup`` credentials, when given, are the login,
    else ``email`` and ``password``."""
    details = body.get("customerDetails") or {}
    credentials = body.get("signup") or {}
    first_name, last_name = details.get("firstName", ""), details.get("lastName", "")
    profile = CustomerProfile.from_details(details, "customerDetails.")
    check_signup_details(body.get("email"), details.get("contactEmail"), first_name, last_name, profile)
    given_address = body.get("customerAddress")
    address = None if given_address is None else Address.from_wire(given_address, "customerAddress.")
    separate = credentials.get("email") is not None or credentials.get("password") is not None
    contact = None  # the login email, unless separate credentials make ``email`` a contact only
    if separate and body.get("email"):
        contact = normalise_email(require_text(body["email"], "email"), "email")
    login = credentials if separate else body
    email, password = require_texts(email=login.get("email"), password=login.get("password"))
    customer = domain.signup(
        tenant,
        email,
        password,
        first_name=first_name,
        last_name=last_name,
        contact_email=contact,
        profile=profile,
        address=address,
    )
    return {"id": customer.id}, 201


def login(
    domain: Domain, tenant: str, body: Body, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """POST /customer/{tenant}/login: a customer token and its SaaS token, in the session of the
    anonymous token sent; ``initialPassword`` tells whether the password is still the one an
    employee set."""
    email, password = require_texts(email=body.get("email"), password=body.get("password"))
    token = domain.login(tenant, email, password, anonymous_token=token_info["access_token"])
    customer = domain.get_profile(token)
    saas = saas_token(token)
    return {
        **customer_token_body(domain, token),
        "saas_token": saas,
        "saasToken": saas,
        "initialPassword": bool(customer and customer.initial_password),
    }, 200


def refresh_customer_token(
    domain: Domain, tenant: str, refreshToken: str, legalEntityId: str | None = None
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/refreshauthtoken: a new customer token for the same session; with
    ``legalEntityId``, for that legal entity of the customer's."""
    with wire_names(refreshToken="refresh_token", legalEntityId="legal_entity_id"):
        token = domain.refresh_customer_token(
            tenant,
            require_text(refreshToken, "refreshToken"),
            legal_entity_id=None if legalEntityId is None else require_text(legalEntityId, "legalEntityId"),
        )
    return customer_token_body(domain, token), 200


def validate_token(domain: Domain, tenant: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/validateauthtoken: what the customer token is, while it is valid."""
    token = token_info["access_token"]
    seconds_left, customer = domain.validate_token(token)
    body = {
        "token_type": "Bearer",
        "expires_in": seconds_left,
        "scope": token.scope,
        "sessionId": token.session_id,
        "email": customer.email,
    }
    if token.legal_entity_id is not None:
        body["legalEntityId"] = token.legal_entity_id
    return body, 200


def logout(domain: Domain, tenant: str, accessToken: str, token_info: dict[str, Any]) -> tuple[None, int]:
    """GET /customer/{tenant}/logout: the session of ``accessToken`` ends."""
    with wire_names(accessToken="access_token"):
        domain.logout(token_info["access_token"], require_text(accessToken, "accessToken"))
    return NO_CONTENT


def get_profile(
    domain: Domain, tenant: str, token_info: dict[str, Any], expand: str | None = None
) -> tuple[dict[str, Any], int]:
    """GET /customer/{tenant}/me: the customer's profile, or the anonymous one; with
    ``expand=addresses``, the customer's addresses too."""
    customer = domain.get_profile(token_info["access_token"])
    if customer is None:
        return ANONYMOUS_PROFILE, 200
    expanded = {part.strip() for part in (expand or "").split(",")}
    return customer.profile_view(addresses="addresses" in expanded), 200


def update_profile(
    domain: Domain, tenant: str, token_info: dict[str, Any], body: Body | None = None
) -> tuple[None, int]:
    """PATCH /customer/{tenant}/me: the fields given change (a merge patch: null removes one);
    ``metadata.version``, when given, must be the profile's current version."""
    changes, version = without_version(body)
    with wire_names(**PROFILE_UPDATE_FIELDS):
        domain.update_profile(token_info["access_token"], changes, version=version)
    return OK_WITHOUT_BODY


def save_profile(
    domain: Domain, tenant: str, token_info: dict[str, Any], body: Body | None = None
) -> tuple[None, int]:
    """PUT /customer/{tenant}/me, as the Emporix SDK saves a profile (beyond the reference): the
    fields sent change, with the rules and answers of PATCH."""
    changes, version = without_version(body)
    with wire_names(**PROFILE_UPDATE_FIELDS):
        domain.save_profile(token_info["access_token"], changes, version=version)
    return OK_WITHOUT_BODY


OPERATIONS = {
    "GET-oauth-generate-anonymous-access-token": anonymous_login,
    "GET-oauth-refresh-anonymous-access-token": anonymous_refresh,
    "POST-customer-create-customer-account": signup,
    "POST-customer-authenticate-customer": login,
    "GET-customer-refresh-authtoken": refresh_customer_token,
    "GET-customer-validate-token": validate_token,
    "GET-customer-logout-customer": logout,
    "GET-customer-retrieve-customer-profile": get_profile,
    "PATCH-customer-update-customer": update_profile,
    "PUT-customer-save-customer": save_profile,
    **ADDRESS_OPERATIONS,  # spec/storefront.yaml serves them too
}

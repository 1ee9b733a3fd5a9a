"""The five credential operations of the contract: read the request, call the rule of the same
name, answer.

Connexion passes the path's ``tenant``, the validated JSON ``body`` and the ``token_info``
that the bearer check produced (see :mod:`credmock.http.security`).
"""

from __future__ import annotations

from typing import Any

from credmock.handlers.fields import boolean, require_text, require_texts, wire_names

from credmock.domain import Domain

NO_CONTENT = (None, 204)
Body = dict[str, Any] | None


def request_reset_password(domain: Domain, tenant: str, body: Body = None) -> tuple[None, int]:
    """POST /customer/{tenant}/password/reset: email a reset token (204 for unknown emails too)."""
    body = body or {}
    domain.request_reset_password(tenant, require_text(body.get("email"), "email"))
    return NO_CONTENT


def reset_password(domain: Domain, tenant: str, body: Body = None) -> tuple[None, int]:
    """POST /customer/{tenant}/password/reset/update: set a new password with the emailed token."""
    body = body or {}
    password = require_text(body.get("password"), "password")
    domain.reset_password(tenant, require_text(body.get("token"), "token"), password)
    return NO_CONTENT


def change_account_password(
    domain: Domain, tenant: str, token_info: dict[str, Any], body: Body = None
) -> tuple[None, int]:
    """POST /customer/{tenant}/password/change: the logged-in customer changes the password."""
    body = body or {}
    current, new = require_texts(
        currentPassword=body.get("currentPassword"), newPassword=body.get("newPassword")
    )
    with wire_names(newPassword="new_password"):
        domain.change_account_password(token_info["access_token"], current, new)
    return NO_CONTENT


def change_customer_login_email(
    domain: Domain, tenant: str, token_info: dict[str, Any], body: Body = None
) -> tuple[None, int]:
    """POST /customer/{tenant}/me/accounts/internal/email/change: email a token to the new address."""
    body = body or {}
    access_token = token_info["access_token"]
    domain.require_profile_edit_scope(access_token)  # a 403 comes before any 400 about the body
    email, password, new_email = require_texts(
        email=body.get("email"), password=body.get("password"), newEmail=body.get("newEmail")
    )
    sync = boolean(body.get("syncContactEmail", False), "syncContactEmail")
    with wire_names(newEmail="new_email"):
        domain.change_customer_login_email(access_token, email, password, new_email, sync)
    return NO_CONTENT


def confirm_customer_login_email(domain: Domain, tenant: str, body: Body = None) -> tuple[None, int]:
    """POST /customer/{tenant}/me/accounts/internal/email/change/confirm: apply the new email."""
    body = body or {}
    token = require_text(body.get("token"), "token")
    with wire_names(newEmail="new_email"):  # the email of the change this token confirms
        domain.confirm_customer_login_email(tenant, token)
    return NO_CONTENT


OPERATIONS = {
    "POST-customer-request-reset-password": request_reset_password,
    "POST-customer-reset-password": reset_password,
    "POST-customer-change-account-password": change_account_password,
    "POST-customer-change-customer-login-email": change_customer_login_email,
    "POST-customer-confirm-customer-login-email": confirm_customer_login_email,
}

"""The five credential operations of the contract: read the request, call the domain, answer.

Connexion passes the path's ``tenant``, the validated JSON ``body`` and the ``token_info``
that the bearer check produced (see :mod:`credmock.security`).
"""

from __future__ import annotations

from typing import Any

from credmock.backend import CredentialsBackend

NO_CONTENT = (None, 204)
Body = dict[str, Any] | None


def request_reset_password(backend: CredentialsBackend, tenant: str, body: Body = None) -> tuple[None, int]:
    """POST /customer/{tenant}/password/reset: email a reset token (204 for unknown emails too)."""
    body = body or {}
    backend.request_password_reset(tenant, body.get("email"))
    return NO_CONTENT


def reset_password(backend: CredentialsBackend, tenant: str, body: Body = None) -> tuple[None, int]:
    """POST /customer/{tenant}/password/reset/update: set a new password with the emailed token."""
    body = body or {}
    backend.reset_password(tenant, body.get("token"), body.get("password"))
    return NO_CONTENT


def change_account_password(
    backend: CredentialsBackend, tenant: str, token_info: dict[str, Any], body: Body = None
) -> tuple[None, int]:
    """POST /customer/{tenant}/password/change: the logged-in customer changes the password."""
    body = body or {}
    backend.change_password(token_info["access_token"], body.get("currentPassword"), body.get("newPassword"))
    return NO_CONTENT


def change_customer_login_email(
    backend: CredentialsBackend, tenant: str, token_info: dict[str, Any], body: Body = None
) -> tuple[None, int]:
    """POST /customer/{tenant}/me/accounts/internal/email/change: email a token to the new address."""
    body = body or {}
    backend.request_email_change(
        token_info["access_token"],
        body.get("email"),
        body.get("password"),
        body.get("newEmail"),
        body.get("syncContactEmail", False),
    )
    return NO_CONTENT


def confirm_customer_login_email(
    backend: CredentialsBackend, tenant: str, body: Body = None
) -> tuple[None, int]:
    """POST /customer/{tenant}/me/accounts/internal/email/change/confirm: apply the new email."""
    body = body or {}
    backend.confirm_email_change(tenant, body.get("token"))
    return NO_CONTENT


OPERATIONS = {
    "POST-customer-request-reset-password": request_reset_password,
    "POST-customer-reset-password": reset_password,
    "POST-customer-change-account-password": change_account_password,
    "POST-customer-change-customer-login-email": change_customer_login_email,
    "POST-customer-confirm-customer-login-email": confirm_customer_login_email,
}

"""Signing in through an identity provider: ``socialLogin`` redeems the provider's authorization
code, ``exchangeauthtoken`` takes the provider's access token (a JWT: signature, issuer,
audience and expiry checked). Either way the customer with the identity's email signs in, and
is created at the first sign-in."""

from __future__ import annotations

import re
from typing import Any

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email
from credmock.core.models import AccessToken, Customer
from credmock.core.token_source import TokenSource
from credmock.domain.customers import Customers
from credmock.domain.identity_provider import IdentityProvider
from credmock.domain.sessions import Sessions
from credmock.domain.tenants import TenantRule
from credmock.settings import Settings
from credmock.store import Store

# The configuration exchangeauthtoken uses when none is named; others come from the settings.
DEFAULT_EXCHANGE_CONFIG = "default"
# A session id a client may ask to continue: what the mock issues (UUIDs), and others of its kind.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Long enough that no one types it: the password of a customer who signs in through a provider.
UNUSABLE_PASSWORD_LENGTH = 40


class SocialLogins:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        token_source: TokenSource,
        tenant_rule: TenantRule,
        customers: Customers,
        sessions: Sessions,
        identity_provider: IdentityProvider,
    ) -> None:
        self.settings = settings
        self.store = store
        self.token_source = token_source
        self.tenant_rule = tenant_rule
        self.customers = customers
        self.sessions = sessions
        self.identity_provider = identity_provider

    def social_login(
        self,
        tenant: str,
        code: str,
        redirect_uri: str,
        *,
        code_verifier: str | None = None,
        session_id: str | None = None,
    ) -> tuple[AccessToken, dict[str, Any]]:
        """The customer session of an authorization code of the mock identity provider, and the
        provider's tokens; continuing ``session_id`` (the anonymous session) when given."""
        self.tenant_rule.validate(tenant)
        self._check_session_id(session_id)
        authorization = self.identity_provider.redeem(code, redirect_uri, code_verifier)
        provider_tokens = self.identity_provider.tokens_for(authorization)
        customer = self._customer_for(
            tenant, authorization.email, authorization.given_name, authorization.family_name
        )
        session = self.sessions.start_customer_session(customer, session_id=session_id)
        if session is None:
            raise errors.InvalidGrant(reason="customer removed meanwhile")
        return session, provider_tokens

    def exchange_auth_token(
        self, tenant: str, subject_access_token: str, *, issuer: str, config: str | None = None
    ) -> AccessToken:
        """A customer session for an access token of the mock identity provider (issued by
        ``issuer`` for the configured audience, valid now; 401 otherwise). ``config`` names a
        configuration: the default one, or one the settings add (400 for any other)."""
        self.tenant_rule.validate(tenant)
        if config is not None and config not in (DEFAULT_EXCHANGE_CONFIG, *self.settings.exchange_configs):
            raise errors.ValidationFailed.for_field(
                "config", "invalid_value", f"There is no configuration '{config}'."
            )
        claims = self.identity_provider.verified_claims(
            subject_access_token, issuer=issuer, audience=self.settings.idp_audience
        )
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise errors.SubjectTokenRejected("subject token without an email claim")
        names = [claims.get(name) for name in ("given_name", "family_name")]
        customer = self._customer_for(
            tenant, email, *(name if isinstance(name, str) else "" for name in names)
        )
        session = self.sessions.start_customer_session(customer)
        if session is None:
            raise errors.InvalidAccessToken("customer removed meanwhile")
        return session

    @staticmethod
    def _check_session_id(session_id: str | None) -> None:
        if session_id is not None and not SESSION_ID.fullmatch(session_id):
            raise errors.ValidationFailed.for_field(
                "session_id", "invalid_format", "'session_id' must be a session id (letters, digits, '-')."
            )

    def _customer_for(self, tenant: str, email: str, given_name: str, family_name: str) -> Customer:
        """The customer whose login email the provider vouched for (activated if a double opt-in
        signup left it inactive), else a new one with the identity's names."""
        email = normalise_email(email, "email")
        for _ in range(3):  # another request may create or remove them meanwhile
            customer = self.store.customer_by_email(tenant, email)
            if customer is not None:
                if not customer.active:
                    self.store.activate_customer(tenant, customer.id)
                    customer = self.store.customer(tenant, customer.id) or customer
                return customer
            try:
                return self.customers.create_customer(
                    tenant,
                    email,
                    self.token_source.token(UNUSABLE_PASSWORD_LENGTH),
                    first_name=given_name,
                    last_name=family_name,
                )
            except errors.DuplicateAccount:
                continue
        raise errors.BadRequest(f"The account '{email}' changed during the sign-in; try again.")

"""Sessions and access tokens: anonymous and customer tokens, login, refresh, logout, the
profile behind a token, and the bearer check of every request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from credmock.core import exceptions as errors
from credmock.core.clock import Clock
from credmock.core.models import ANONYMOUS, CUSTOMER, PROFILE_EDIT_SCOPE, AccessToken, Customer
from credmock.core.passwords import verify_password
from credmock.core.token_source import TokenSource
from credmock.domain.purging import EXPIRED_TOKEN_MEMORY, Purger
from credmock.domain.tenants import TenantRule
from credmock.settings import Settings
from credmock.store import Store

ACCESS_TOKEN_LENGTH = 28
REFRESH_TOKEN_LENGTH = 32


def customer_gone() -> errors.InvalidAccessToken:
    """The answer to a customer token whose customer no longer exists (a reset removed it)."""
    return errors.InvalidAccessToken("token of a customer that no longer exists")


def customer_of(store: Store, token: AccessToken) -> Customer:
    """The customer of a customer token; 401 when it no longer exists."""
    customer = store.customer(token.tenant, token.customer_id or "")
    if customer is None:  # the customer is gone: the token means nothing any more
        raise customer_gone()
    return customer


def require_profile_edit_scope(access_token: AccessToken) -> None:
    """403 unless the token may edit its customer's profile."""
    if PROFILE_EDIT_SCOPE not in access_token.scopes:
        raise errors.MissingScope(PROFILE_EDIT_SCOPE)


@dataclass
class Sessions:
    settings: Settings
    store: Store
    clock: Clock
    token_source: TokenSource
    tenant_rule: TenantRule
    purger: Purger

    def authenticate(self, raw_token: str, tenant: str, *, required_kind: str | None) -> AccessToken:
        """The live access token ``raw_token`` for a request to ``tenant``, of ``required_kind``
        (``ANONYMOUS`` or ``CUSTOMER``: the kind of the security scheme it is checked for; None
        for either).

        401 when it is unknown, revoked or expired (a day after expiry it is forgotten and
        answers as unknown); 400 when the tenant is malformed; 403 when it belongs to another
        tenant, or is of the other kind. (An operation that declares no 403 answers 401
        instead: the HTTP layer fits the status to the operation's declared ones.)
        """
        token = self.store.access_token(raw_token)
        if token is None:
            raise errors.InvalidAccessToken("token unknown: never issued or purged")
        now = self.clock.now()
        if token.expires_at <= now:
            if token.expires_at + EXPIRED_TOKEN_MEMORY <= now:
                self.store.forget_access_token(raw_token)
                raise errors.InvalidAccessToken("token expired more than a day ago: forgotten")
            raise errors.ExpiredAccessToken(f"token expired {now - token.expires_at:.0f} s ago")
        if token.tenant != tenant:
            self.tenant_rule.validate(tenant)
            raise errors.TenantMismatch(reason=f"token of tenant {token.tenant} on tenant {tenant}")
        if required_kind is not None and token.kind != required_kind:
            if required_kind == CUSTOMER:
                raise errors.CustomerTokenRequired(reason="anonymous token where a customer token is needed")
            raise errors.AnonymousTokenRequired(reason="customer token where an anonymous token is needed")
        return token

    def _issue_access_token(
        self,
        tenant: str,
        kind: str,
        lifetime: int,
        *,
        customer_id: str | None = None,
        scopes: Iterable[str] = (),
        session_id: str | None = None,
        legal_entity_id: str | None = None,
    ) -> AccessToken | None:
        """A new access token, stored; None (nothing stored) when its customer was removed
        meanwhile (a reset, perhaps on another instance)."""
        now = self.clock.now()
        self.purger.purge_expired_if_due(now)
        token = AccessToken(
            value=self.token_source.token(ACCESS_TOKEN_LENGTH),
            tenant=tenant,
            kind=kind,
            issued_at=now,
            expires_at=now + lifetime,
            session_id=session_id or self.token_source.uuid(),
            customer_id=customer_id,
            scopes=tuple(scopes),
            refresh_token=self.token_source.token(REFRESH_TOKEN_LENGTH),
            legal_entity_id=legal_entity_id,
        )
        return token if self.store.add_access_token(token) else None

    # Anonymous sessions -------------------------------------------------------------------------

    def anonymous_login(
        self, tenant: str, *, session_id: str | None = None, lifetime: int | None = None
    ) -> AccessToken:
        """A new anonymous token, a new session."""
        self.tenant_rule.validate(tenant)
        token = self._issue_access_token(
            tenant, ANONYMOUS, lifetime or self.settings.anonymous_token_lifetime, session_id=session_id
        )
        assert token is not None  # an anonymous token has no customer to lose
        return token

    def anonymous_refresh(
        self, tenant: str, *, refresh_token: str | None = None, access_token: str | None = None
    ) -> AccessToken:
        """A new anonymous token for the same session, by its refresh token, or by the access
        token (the deprecated way), which then spends its refresh token."""
        if refresh_token is None and access_token is not None:
            return self._refresh(tenant, self.store.access_token(access_token), ANONYMOUS, "access_token")
        previous = self.store.access_token_of_refresh_token(refresh_token or "")
        return self._refresh(tenant, previous, ANONYMOUS, "refresh_token")

    # Customer sessions --------------------------------------------------------------------------

    def customer_token(
        self,
        tenant: str,
        email: str,
        *,
        password: str | None = None,
        scopes: Iterable[str] | None = None,
        lifetime: int | None = None,
        active_only: bool = False,
        session_id: str | None = None,
    ) -> AccessToken:
        """A customer token for the customer with this login email; the password is checked
        when given (as a login does), skipped when None (as the mock API allows). With
        ``active_only``, an account not activated yet (double opt-in) is refused. It continues
        session ``session_id`` when given, else starts a new one."""
        self.tenant_rule.validate(tenant)
        customer = self.store.customer_by_email(tenant, email)
        if (
            customer is not None
            and password is not None
            and not verify_password(password, customer.password_hash)
        ):
            raise errors.InvalidCredentials(reason=f"wrong password for {customer.email}")
        if active_only and customer is not None and not customer.active:
            raise errors.AccountNotActivated(f"{customer.email} has not opened the activation link yet")
        token = (
            None
            if customer is None
            else self._issue_access_token(
                tenant,
                CUSTOMER,
                lifetime or self.settings.customer_token_lifetime,
                customer_id=customer.id,
                scopes=self.settings.default_customer_scopes if scopes is None else scopes,
                session_id=session_id,
            )
        )
        if token is None:  # no such customer, or removed meanwhile
            if password is not None:
                raise errors.InvalidCredentials(reason=f"no customer {email} in tenant {tenant}")
            raise errors.NotFound(f"No customer with the email '{email}' in tenant '{tenant}'.")
        return token

    def login(
        self, tenant: str, email: str, password: str, *, anonymous_token: AccessToken | None = None
    ) -> AccessToken:
        """A customer token for a storefront login. It continues the session of the anonymous
        token the login was sent with (and so the cart bound to it), and the customer's
        ``last_login`` is now. A wrong email or a wrong password is one and the same 401
        (:class:`errors.LoginFailed`)."""
        session_id = anonymous_token.session_id if anonymous_token is not None else None
        try:
            token = self.customer_token(
                tenant, email, password=password, active_only=True, session_id=session_id
            )
        except errors.InvalidCredentials as error:
            raise errors.LoginFailed(error.reason) from None
        self.store.record_login(tenant, token.customer_id or "", token.issued_at)
        return token

    def refresh_customer_token(
        self, tenant: str, refresh_token: str, *, legal_entity_id: str | None = None
    ) -> AccessToken:
        """A new customer token for the same session; with ``legal_entity_id``, scoped to that
        legal entity, one the customer belongs to (400 otherwise), else to the previous token's."""
        previous = self.store.access_token_of_refresh_token(refresh_token)
        if (
            legal_entity_id is not None
            and previous is not None
            and previous.kind == CUSTOMER
            and previous.tenant == tenant
        ):
            customer = self.store.customer(previous.tenant, previous.customer_id or "")
            if customer is not None and customer.legal_entity(legal_entity_id) is None:
                message = f"The customer does not belong to the legal entity '{legal_entity_id}'."
                raise errors.UnknownLegalEntity(
                    message, [errors.FieldProblem("legal_entity_id", "invalid_value", message)]
                )
        return self._refresh(tenant, previous, CUSTOMER, "refresh_token", legal_entity_id=legal_entity_id)

    def _refresh(
        self,
        tenant: str,
        previous: AccessToken | None,
        kind: str,
        field: str,
        *,
        legal_entity_id: str | None = None,
    ) -> AccessToken:
        """A new access token for the session of ``previous``: same kind, customer, scopes,
        session id and legal entity (``legal_entity_id`` instead when given). Its refresh token is
        spent; ``previous`` lives on until it expires. 400 naming ``field`` when there is no such
        token, its refresh token is spent or expired, or it is of another tenant or of another
        kind."""
        self.tenant_rule.validate(tenant)
        message = errors.InvalidRefreshToken.default_message
        invalid = errors.InvalidRefreshToken(details=[errors.FieldProblem(field, "invalid_value", message)])
        if (
            previous is None
            or previous.refresh_token is None
            or previous.tenant != tenant
            or previous.kind != kind
            or previous.issued_at + self.settings.refresh_token_lifetime <= self.clock.now()
            or (kind == CUSTOMER and self.store.customer(tenant, previous.customer_id or "") is None)
            or not self.store.spend_refresh_token(previous.refresh_token)
        ):
            raise invalid
        settings = self.settings
        lifetime = settings.customer_token_lifetime if kind == CUSTOMER else settings.anonymous_token_lifetime
        token = self._issue_access_token(
            tenant,
            kind,
            lifetime,
            customer_id=previous.customer_id,
            scopes=previous.scopes,
            session_id=previous.session_id,
            legal_entity_id=legal_entity_id or previous.legal_entity_id,
        )
        if token is None:  # the customer was removed meanwhile
            raise invalid
        return token

    def logout(self, caller: AccessToken, access_token: str) -> None:
        """End the session of ``access_token``, a token of the caller's customer: it and every
        other token of its session (refreshed ones) stop working, with their refresh tokens."""
        target = self.store.access_token(access_token)
        if target is None or target.tenant != caller.tenant or target.customer_id != caller.customer_id:
            raise errors.ValidationFailed.for_field(
                "access_token", "invalid_value", "'access_token' is not an access token of this customer."
            )
        self.store.forget_access_tokens(target.tenant, target.customer_id or "", target.session_id)

    def validate_token(self, access_token: AccessToken) -> tuple[int, Customer]:
        """What validateauthtoken tells of a live customer token: the seconds it has left, and
        its customer."""
        seconds_left = max(0, round(access_token.expires_at - self.clock.now()))
        return seconds_left, customer_of(self.store, access_token)

    def get_profile(self, access_token: AccessToken) -> Customer | None:
        """The customer an access token belongs to; None for an anonymous token."""
        return customer_of(self.store, access_token) if access_token.kind == CUSTOMER else None

    # The mock API ---------------------------------------------------------------------------------

    def create_access_token(
        self,
        tenant: str,
        kind: str,
        *,
        email: str | None = None,
        password: str | None = None,
        scopes: Iterable[str] | None = None,
        lifetime: int | None = None,
    ) -> AccessToken:
        """A token of either kind without a login form: what a test needs to call an operation."""
        if kind == ANONYMOUS:
            return self.anonymous_login(tenant, lifetime=lifetime)
        return self.customer_token(tenant, email or "", password=password, scopes=scopes, lifetime=lifetime)

    # Sessions started by other rules ------------------------------------------------------------

    def start_customer_session(
        self, customer: Customer, *, session_id: str | None = None
    ) -> AccessToken | None:
        """A customer token with the default scopes for ``customer``, continuing ``session_id``
        when given (an activation, a social login); None when the customer was removed meanwhile."""
        return self._issue_access_token(
            customer.tenant,
            CUSTOMER,
            self.settings.customer_token_lifetime,
            customer_id=customer.id,
            scopes=self.settings.default_customer_scopes,
            session_id=session_id,
        )

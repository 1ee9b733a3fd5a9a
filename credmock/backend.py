"""The domain: the credential rules over the mock's state. No Flask, no Connexion.

One :class:`CredentialsBackend` per app instance owns all state. Time, randomness and mail
delivery come in from outside (:class:`Clock`, :class:`TokenSource`, :class:`Outbox`), so
tests control them. Every public method runs under one lock: the server handles requests on
several threads, and each rule reads and writes several maps that must change together.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from credmock import exceptions as errors
from credmock.clock import Clock
from credmock.email_address import email_key, normalise_email, same_email
from credmock.mail import build_link, check_link_template, compose
from credmock.models import (
    ANONYMOUS,
    CUSTOMER,
    PROFILE_EDIT_SCOPE,
    AccessToken,
    Customer,
    CustomerProfile,
    EmailToken,
    TenantState,
)
from credmock.outbox import EMAIL_CHANGE, PASSWORD_RESET, Email, Outbox
from credmock.passwords import hash_password, verify_password
from credmock.seeding import CustomerSeed, FixtureError, fake_customers, load_fixtures
from credmock.settings import Settings
from credmock.token_source import TokenSource

TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9]+$")
TENANT_LENGTH = range(3, 17)
ACCESS_TOKEN_LENGTH = 28
REFRESH_TOKEN_LENGTH = 32
EMAIL_TOKEN_LENGTH = 64
# Expired access tokens are remembered this long, so they answer "Access Token expired";
# after that they are purged and answer "Invalid access token", as unknown ones do.
EXPIRED_TOKEN_MEMORY = 86_400
PURGE_INTERVAL = 60
# The clock and token lifetimes stay within what a timestamp can show (ISO 8601, year 9999).
LATEST_TIME = datetime(9999, 12, 31, tzinfo=UTC).timestamp()

logger = logging.getLogger("credmock")

P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


def is_valid_tenant(tenant: str) -> bool:
    return len(tenant) in TENANT_LENGTH and TENANT_PATTERN.match(tenant) is not None


def require_texts(**fields: Any) -> tuple[str, ...]:
    """Required string fields of a request body, in the order given, or one 400 naming each problem."""
    problems = []
    for field, value in fields.items():
        if value is None or value == "":
            problems.append(errors.FieldProblem(field, "missing_value", f"'{field}' is required."))
        elif not isinstance(value, str):
            problems.append(errors.FieldProblem(field, "invalid_type", f"'{field}' must be a string."))
    if problems:
        raise errors.ValidationFailed(" ".join(problem.message for problem in problems), problems)
    return tuple(fields.values())


def require_text(value: Any, field: str) -> str:
    """A required string field of a request body, or a 400 naming it."""
    return require_texts(**{field: value})[0]


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CredentialsBackend:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        token_source: TokenSource | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.settings = settings
        check_link_template(settings.password_reset_link, "the password reset link (--reset-link)")
        check_link_template(settings.email_change_link, "the email change link (--email-change-link)")
        self.clock = clock or Clock(settings.clock_start)
        self.token_source = token_source or TokenSource(settings.seed)
        self.outbox = outbox or Outbox.for_settings(settings)
        self._lock = threading.RLock()
        self._fixture_tenants, self._fixture_customers = (
            load_fixtures(settings.fixtures_path) if settings.fixtures_path else ([], [])
        )
        # The tenants the fake customers go to: those of the fixtures, else "demo".
        self._fake_tenants = self._fixture_tenants or ["demo"]
        # The known tenants: those of the fixtures, and "demo" when only it has (fake) customers.
        self.known_tenants: tuple[str, ...] = tuple(
            self._fixture_tenants or (self._fake_tenants if settings.fake_customers > 0 else ())
        )
        if settings.strict_tenants and not self.known_tenants:
            raise ValueError("strict tenants (--strict-tenants) need fixtures naming the tenants to serve")
        self.reset()

    # State ------------------------------------------------------------------------------------

    @_locked
    def reset(self) -> None:
        """Back to the fixtures: customers as loaded, no tokens, empty outbox, clock as started."""
        self.clock.reset()
        self.token_source.reset()
        self.outbox.clear()
        self.tenants: dict[str, TenantState] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> access token value
        self._last_purge = self.clock.now()
        for tenant in self._fixture_tenants:
            if not is_valid_tenant(tenant):
                raise FixtureError(
                    f"{self.settings.fixtures_path}: tenant {tenant!r} is not a valid tenant name "
                    "(a lowercase letter, then lowercase letters or digits, 3 to 16 characters)"
                )
        for tenant in self.known_tenants:
            self.tenants[tenant] = TenantState(tenant)
        for seed in self._fixture_customers:
            self._add_seeded_customer(seed)
        for tenant in self._fake_tenants:
            # One Faker seed per tenant, drawn from the token source: reproducible with --seed,
            # and different people in each tenant.
            for seed in fake_customers(tenant, self.settings.fake_customers, self.token_source.integer()):
                self._add_seeded_customer(seed)

    def _add_seeded_customer(self, seed: CustomerSeed) -> None:
        """A customer of the fixtures (or Faker): an existing account, so the password policy,
        which governs new passwords, does not apply; any other problem names the file and entry."""
        try:
            self._add_customer(seed, check_policy=False)
        except errors.ApiError as error:
            raise FixtureError(
                f"{self.settings.fixtures_path}: tenant {seed.tenant!r}, "
                f"customer {seed.email!r}: {error.message}"
            ) from None

    def _tenant(self, name: str) -> TenantState:
        state = self.tenants.get(name)
        if state is None:
            self._admit_unknown_tenant(name)
            state = self.tenants[name] = TenantState(name)
        return state

    def _admit_unknown_tenant(self, name: str) -> None:
        """A tenant not in the fixtures, used: refused with ``strict_tenants``, else logged (a typo
        such as 'dmeo' makes an empty tenant where every login fails: the log names it)."""
        if self.settings.strict_tenants:
            raise errors.InvalidTenant()
        known = ", ".join(self.known_tenants) or "none"
        logger.warning("tenant %r is not in the fixtures (known: %s); it starts empty", name, known)

    def _now(self) -> float:
        now = self.clock.now()
        if now - self._last_purge >= PURGE_INTERVAL:
            self._purge(now)
        return now

    def _purge(self, now: float) -> None:
        """Forget expired email tokens, access tokens long expired, and tenants left empty (any
        request may name a new tenant): memory stays bounded."""
        self._last_purge = now
        self._forget_access_tokens(lambda token: token.expires_at + EXPIRED_TOKEN_MEMORY <= now)
        for state in self.tenants.values():
            for value in [v for v, t in state.email_tokens.items() if t.expires_at <= now]:
                self._spend_email_token(state, value)
        for name in [
            name
            for name, state in self.tenants.items()
            if name not in self.known_tenants and not state.customers and not state.email_tokens
        ]:
            del self.tenants[name]

    def validate_tenant(self, tenant: str) -> None:
        """The contract's tenant error for a malformed tenant, and, with ``strict_tenants``, for
        one not in the fixtures."""
        if not is_valid_tenant(tenant) or (self.settings.strict_tenants and tenant not in self.known_tenants):
            raise errors.InvalidTenant()

    # Customers --------------------------------------------------------------------------------

    def _add_customer(self, seed: CustomerSeed, *, check_policy: bool = True) -> Customer:
        self.validate_tenant(seed.tenant)
        state = self._tenant(seed.tenant)
        email = normalise_email(seed.email, "email")
        if state.customer_by_email(email):
            raise errors.DuplicateAccount(f"Duplicate account '{email}' for tenant '{seed.tenant}'.")
        if check_policy:
            self._check_password_policy(seed.password, "password")
        customer_id = seed.id or self._new_customer_id(state)
        if customer_id in state.customers:
            raise errors.Conflict(f"A customer with id '{customer_id}' exists in tenant '{seed.tenant}'.")
        customer = Customer(
            id=customer_id,
            tenant=seed.tenant,
            email=email,
            contact_email=seed.contact_email or email,
            password_hash=hash_password(seed.password, self.token_source.salt()),
            first_name=seed.first_name,
            last_name=seed.last_name,
            profile=seed.profile,
            initial_password=seed.initial_password,
        )
        state.customers[customer.id] = customer
        state.customer_ids_by_email[email_key(email)] = customer.id
        return customer

    def _new_customer_id(self, state: TenantState) -> str:
        while True:
            candidate = self.token_source.digits(8).lstrip("0") or "0"
            if candidate not in state.customers:
                return candidate

    @_locked
    def create_customer(
        self,
        tenant: str,
        email: Any,
        password: Any,
        *,
        first_name: str = "",
        last_name: str = "",
        contact_email: str | None = None,
        profile: CustomerProfile | None = None,
        initial_password: bool = False,
    ) -> Customer:
        email, password = require_texts(email=email, password=password)
        if contact_email is not None:
            contact_email = normalise_email(contact_email, "contactEmail")
        return self._add_customer(
            CustomerSeed(
                tenant,
                email,
                password,
                first_name or "",
                last_name or "",
                contact_email,
                profile=profile or CustomerProfile(),
                initial_password=initial_password,
            )
        )

    @_locked
    def signup(
        self,
        tenant: str,
        email: Any,
        password: Any,
        *,
        signup_email: Any = None,
        signup_password: Any = None,
        first_name: str = "",
        last_name: str = "",
        contact_email: Any = None,
        profile: CustomerProfile | None = None,
    ) -> Customer:
        """A customer signing up, as the real signup endpoint takes it: ``email`` is the contact
        email (``customerDetails.contactEmail``, when given, must be the same); separate
        ``signup`` credentials, when given, are the login, else ``email`` and ``password``. A
        company registration id needs the first name, last name and company."""
        profile = profile or CustomerProfile()
        self._check_signup_details(email, contact_email, first_name, last_name, profile)
        separate = signup_email is not None or signup_password is not None
        # The contact email is ``email``: with separate credentials, it differs from the login.
        contact = normalise_email(require_text(email, "email"), "email") if separate and email else None
        return self.create_customer(
            tenant,
            signup_email if separate else email,
            signup_password if separate else password,
            first_name=first_name,
            last_name=last_name,
            contact_email=contact,
            profile=profile,
        )

    @staticmethod
    def _check_signup_details(
        email: Any, contact_email: Any, first_name: str, last_name: str, profile: CustomerProfile
    ) -> None:
        field = "customerDetails.contactEmail"
        if (
            contact_email is not None
            and isinstance(email, str)
            and not (isinstance(contact_email, str) and same_email(contact_email, email))
        ):
            raise errors.ValidationFailed.for_field(
                field, "invalid_value", f"'{field}' must be the same as 'email'."
            )
        if profile.company_registration_id:
            given = {"firstName": first_name, "lastName": last_name, "company": profile.company}
            missing = [f"customerDetails.{name}" for name, value in given.items() if not value]
            if missing:
                message = (
                    "A company registration id needs " + ", ".join(f"'{name}'" for name in missing) + "."
                )
                raise errors.ValidationFailed(
                    message, [errors.FieldProblem(name, "missing_value", message) for name in missing]
                )

    @_locked
    def counts(self) -> dict[str, int]:
        """Tenants, customers and emails, read under the lock (another thread may add a tenant)."""
        return {
            "tenants": len(self.tenants),
            "customers": sum(len(state.customers) for state in self.tenants.values()),
            "outbox": len(self.outbox),
        }

    @_locked
    def list_customers(self, tenant: str) -> list[Customer]:
        self.validate_tenant(tenant)
        return list(self._tenant(tenant).customers.values())

    @_locked
    def get_customer(self, tenant: str, customer_id: str) -> Customer:
        customer = self._tenant(tenant).customers.get(customer_id)
        if customer is None:
            raise errors.NotFound(f"Customer '{customer_id}' not found in tenant '{tenant}'.")
        return customer

    def _check_password_policy(self, password: str, field: str) -> None:
        minimum = self.settings.password_min_length
        if len(password) < minimum:
            raise errors.PasswordPolicyViolation(
                f"The password must have at least {minimum} characters.",
                [errors.FieldProblem(field, "too_short", f"At least {minimum} characters are required.")],
                reason=f"{field}: shorter than {minimum}",
            )

    # Access tokens ----------------------------------------------------------------------------

    def _issue_access_token(
        self,
        tenant: str,
        kind: str,
        lifetime: int,
        *,
        customer_id: str | None = None,
        scopes: Iterable[str] = (),
        session_id: str | None = None,
    ) -> AccessToken:
        now = self._now()
        if not 0 < lifetime <= LATEST_TIME - now:  # only a requested ``expiresIn`` can be out of range
            raise errors.ValidationFailed.for_field(
                "expiresIn",
                "invalid_value",
                f"'expiresIn' must be between 1 and {LATEST_TIME - now:.0f} seconds (up to the year 9999).",
            )
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
        )
        self.access_tokens[token.value] = token
        self.refresh_tokens[token.refresh_token] = token.value
        return token

    def _forget_access_token(self, value: str) -> None:
        token = self.access_tokens.pop(value, None)
        if token and token.refresh_token:
            self.refresh_tokens.pop(token.refresh_token, None)

    @_locked
    def issue_anonymous_token(
        self, tenant: str, *, session_id: str | None = None, lifetime: int | None = None
    ) -> AccessToken:
        self.validate_tenant(tenant)
        self._tenant(tenant)
        return self._issue_access_token(
            tenant, ANONYMOUS, lifetime or self.settings.anonymous_token_lifetime, session_id=session_id
        )

    @_locked
    def issue_customer_token(
        self,
        tenant: str,
        email: Any,
        *,
        password: Any = None,
        scopes: Iterable[str] | None = None,
        lifetime: int | None = None,
    ) -> AccessToken:
        """A customer token for the customer with this login email; the password is checked
        when given (as a login does), skipped when None (as the mock API allows)."""
        self.validate_tenant(tenant)
        email = require_text(email, "email")
        customer = self._tenant(tenant).customer_by_email(email)
        if password is not None:
            password = require_text(password, "password")
            if customer is None:
                raise errors.InvalidCredentials(reason=f"no customer {email} in tenant {tenant}")
            if not verify_password(password, customer.password_hash):
                raise errors.InvalidCredentials(reason=f"wrong password for {customer.email}")
        elif customer is None:
            raise errors.NotFound(f"No customer with the email '{email}' in tenant '{tenant}'.")
        return self._issue_access_token(
            tenant,
            CUSTOMER,
            lifetime or self.settings.customer_token_lifetime,
            customer_id=customer.id,
            scopes=self.settings.default_customer_scopes if scopes is None else scopes,
        )

    @_locked
    def authenticate(self, raw_token: str, tenant: str, *, customer_required: bool) -> AccessToken:
        """The live access token ``raw_token`` for a request to ``tenant``.

        401 when it is unknown, revoked or expired; 400 when the tenant is malformed; 403 when
        it belongs to another tenant, or is anonymous where a customer token is needed.
        """
        now = self._now()  # first: a purge it runs applies to this very lookup
        token = self.access_tokens.get(raw_token)
        if token is None:
            raise errors.InvalidAccessToken("token unknown: never issued or purged")
        if token.expires_at <= now:
            raise errors.ExpiredAccessToken(f"token expired {now - token.expires_at:.0f} s ago")
        if token.tenant != tenant:
            self.validate_tenant(tenant)
            raise errors.TenantMismatch(reason=f"token of tenant {token.tenant} on tenant {tenant}")
        if customer_required and token.kind != CUSTOMER:
            raise errors.CustomerTokenRequired(reason="anonymous token where a customer token is needed")
        return token

    def _forget_access_tokens(self, matches: Callable[[AccessToken], bool]) -> None:
        for value in [value for value, token in self.access_tokens.items() if matches(token)]:
            self._forget_access_token(value)

    def _revoke_customer_tokens(self, tenant: str, customer_id: str) -> None:
        self._forget_access_tokens(lambda token: token.tenant == tenant and token.customer_id == customer_id)

    def _customer_of(self, token: AccessToken) -> Customer:
        customer = self._tenant(token.tenant).customers.get(token.customer_id or "")
        if customer is None:  # the customer is gone: the token means nothing any more
            raise errors.InvalidAccessToken("token of a customer that no longer exists")
        return customer

    # Storefront sessions: login, refresh, logout, profile -------------------------------------

    @_locked
    def login(self, tenant: str, email: Any, password: Any) -> AccessToken:
        """A customer token for a storefront login. A wrong email or a wrong password is one and
        the same 401 (:class:`errors.LoginFailed`); a missing field is a 400."""
        try:
            return self.issue_customer_token(tenant, email, password=password)
        except errors.InvalidCredentials as error:
            raise errors.LoginFailed(error.reason) from None

    @_locked
    def refresh_access_token(self, tenant: str, refresh_token: Any, *, kind: str, field: str) -> AccessToken:
        """A new access token for the session ``refresh_token`` belongs to: same kind, customer,
        scopes and session id. The refresh token is spent; the previous access token lives on
        until it expires. 400 naming ``field`` when the refresh token is unknown, spent, expired,
        of another tenant or of another kind of token."""
        value = require_text(refresh_token, field)
        return self._refresh(tenant, self.refresh_tokens.get(value, ""), kind=kind, field=field)

    @_locked
    def refresh_by_access_token(
        self, tenant: str, access_token: Any, *, kind: str, field: str
    ) -> AccessToken:
        """The deprecated refresh: the access token stands for its refresh token, which it spends;
        otherwise as :meth:`refresh_access_token`."""
        value = require_text(access_token, field)
        token = self.access_tokens.get(value)
        live = token is not None and token.refresh_token in self.refresh_tokens
        return self._refresh(tenant, value if live else "", kind=kind, field=field)

    def _refresh(self, tenant: str, access_token: str, *, kind: str, field: str) -> AccessToken:
        self.validate_tenant(tenant)
        now = self._now()
        previous = self.access_tokens.get(access_token)
        if (
            previous is None
            or previous.tenant != tenant
            or previous.kind != kind
            or previous.issued_at + self.settings.refresh_token_lifetime <= now
        ):
            message = errors.InvalidRefreshToken.default_message
            raise errors.InvalidRefreshToken(details=[errors.FieldProblem(field, "invalid_value", message)])
        if kind == CUSTOMER:
            self._customer_of(previous)
        del self.refresh_tokens[previous.refresh_token or ""]
        settings = self.settings
        lifetime = settings.customer_token_lifetime if kind == CUSTOMER else settings.anonymous_token_lifetime
        return self._issue_access_token(
            tenant,
            kind,
            lifetime,
            customer_id=previous.customer_id,
            scopes=previous.scopes,
            session_id=previous.session_id,
        )

    @_locked
    def logout(self, caller: AccessToken, access_token: Any) -> None:
        """End the session of ``access_token``, a token of the caller's customer: it and every
        other token of its session (refreshed ones) stop working, with their refresh tokens."""
        value = require_text(access_token, "accessToken")
        target = self.access_tokens.get(value)
        if target is None or target.tenant != caller.tenant or target.customer_id != caller.customer_id:
            raise errors.ValidationFailed.for_field(
                "accessToken", "invalid_value", "'accessToken' is not an access token of this customer."
            )
        self._forget_access_tokens(
            lambda token: token.session_id == target.session_id and token.customer_id == target.customer_id
        )

    @_locked
    def validate_token(self, access_token: AccessToken) -> tuple[int, Customer]:
        """What validateauthtoken tells of a live customer token: the seconds it has left, and
        its customer."""
        seconds_left = max(0, round(access_token.expires_at - self._now()))
        return seconds_left, self._customer_of(access_token)

    @_locked
    def profile(self, access_token: AccessToken) -> Customer | None:
        """The customer an access token belongs to; None for an anonymous token."""
        return self._customer_of(access_token) if access_token.kind == CUSTOMER else None

    # Email tokens -----------------------------------------------------------------------------

    def _issue_email_token(
        self, customer: Customer, purpose: str, lifetime: int, *, to: str, **binding: Any
    ) -> EmailToken:
        """A new one-time token, replacing the customer's previous one of the same purpose,
        and the email that carries it. The email is written before any state changes."""
        now = self._now()
        token = EmailToken(
            value=self.token_source.token(EMAIL_TOKEN_LENGTH),
            tenant=customer.tenant,
            customer_id=customer.id,
            purpose=purpose,
            expires_at=now + lifetime,
            **binding,
        )
        template = (
            self.settings.password_reset_link
            if purpose == PASSWORD_RESET
            else self.settings.email_change_link
        )
        link = build_link(template, tenant=customer.tenant, token=token.value, email=to)
        name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
        subject, body, html = compose(
            purpose, name=name, token=token.value, link=link, lifetime_seconds=lifetime
        )
        state = self._tenant(customer.tenant)
        previous = state.live_email_tokens.get((customer.id, purpose))
        if previous:
            self._spend_email_token(state, previous)
        state.email_tokens[token.value] = token
        state.live_email_tokens[(customer.id, purpose)] = token.value
        self.outbox.send(
            Email(
                id=self.token_source.uuid(),
                tenant=customer.tenant,
                to=to,
                kind=purpose,
                subject=subject,
                body=body,
                html=html,
                name=name,
                token=token.value,
                link=link,
                customer_id=customer.id,
                sent_at=now,
            )
        )
        return token

    def _take_email_token(self, tenant: str, value: Any, purpose: str) -> tuple[TenantState, EmailToken]:
        """The live token of ``purpose``, or 400 when unknown, spent, expired or of another tenant."""
        value = require_text(value, "token")
        state = self._tenant(tenant)
        token = state.email_tokens.get(value)
        if token is None or token.purpose != purpose:
            raise errors.InvalidEmailToken(reason=f"{purpose} token unknown, spent or of another tenant")
        if token.expires_at <= self._now():
            self._spend_email_token(state, value)
            raise errors.InvalidEmailToken(reason=f"{purpose} token expired")
        return state, token

    @staticmethod
    def _spend_email_token(state: TenantState, value: str) -> None:
        token = state.email_tokens.pop(value, None)
        if token and state.live_email_tokens.get((token.customer_id, token.purpose)) == value:
            del state.live_email_tokens[(token.customer_id, token.purpose)]

    # The five operations ----------------------------------------------------------------------

    @_locked
    def request_password_reset(self, tenant: str, email: Any) -> None:
        """Email a reset token to a known customer; say nothing about unknown emails."""
        email = require_text(email, "email")
        customer = self._tenant(tenant).customer_by_email(email)
        if customer is None:
            return
        self._issue_email_token(
            customer, PASSWORD_RESET, self.settings.password_reset_token_lifetime, to=customer.email
        )

    @_locked
    def reset_password(self, tenant: str, token: Any, password: Any) -> None:
        password = require_text(password, "password")
        state, email_token = self._take_email_token(tenant, token, PASSWORD_RESET)
        self._check_password_policy(password, "password")
        customer = state.customers[email_token.customer_id]
        customer.password_hash = hash_password(password, self.token_source.salt())
        customer.initial_password = False
        self._spend_email_token(state, email_token.value)
        self._revoke_customer_tokens(tenant, customer.id)

    @_locked
    def change_password(self, access_token: AccessToken, current_password: Any, new_password: Any) -> None:
        current_password, new_password = require_texts(
            currentPassword=current_password, newPassword=new_password
        )
        customer = self._customer_of(access_token)
        if not verify_password(current_password, customer.password_hash):
            raise errors.WrongCurrentPassword()
        self._check_password_policy(new_password, "newPassword")
        customer.password_hash = hash_password(new_password, self.token_source.salt())
        customer.initial_password = False

    @_locked
    def request_email_change(
        self,
        access_token: AccessToken,
        email: Any,
        password: Any,
        new_email: Any,
        sync_contact_email: Any = False,
    ) -> None:
        """Email a confirmation token to ``new_email``; nothing changes until it is confirmed."""
        if PROFILE_EDIT_SCOPE not in access_token.scopes:
            raise errors.MissingScope(PROFILE_EDIT_SCOPE)
        email, password, new_email = require_texts(email=email, password=password, newEmail=new_email)
        new_email = normalise_email(new_email, "newEmail")
        if not isinstance(sync_contact_email, bool):
            raise errors.ValidationFailed.for_field(
                "syncContactEmail", "invalid_type", "'syncContactEmail' must be a boolean."
            )
        customer = self._customer_of(access_token)
        if not same_email(email, customer.email):
            raise errors.InvalidCredentials(reason="email is not the login email of the token's customer")
        if not verify_password(password, customer.password_hash):
            raise errors.InvalidCredentials(reason="wrong password")
        if same_email(new_email, customer.email):
            raise errors.SameEmail(
                details=[errors.FieldProblem("newEmail", "same_value", errors.SameEmail.default_message)]
            )
        self._ensure_email_free(access_token.tenant, new_email, customer.id)
        self._issue_email_token(
            customer,
            EMAIL_CHANGE,
            self.settings.email_change_token_lifetime,
            to=new_email,
            new_email=new_email,
            sync_contact_email=sync_contact_email,
        )

    @_locked
    def confirm_email_change(self, tenant: str, token: Any) -> Customer:
        state, email_token = self._take_email_token(tenant, token, EMAIL_CHANGE)
        self._spend_email_token(state, email_token.value)
        customer = state.customers[email_token.customer_id]
        new_email = email_token.new_email or ""
        self._ensure_email_free(tenant, new_email, customer.id)
        del state.customer_ids_by_email[email_key(customer.email)]
        state.customer_ids_by_email[email_key(new_email)] = customer.id
        customer.email = new_email
        if email_token.sync_contact_email:
            customer.contact_email = new_email
        customer.version += 1
        return customer

    def _ensure_email_free(self, tenant: str, email: str, customer_id: str) -> None:
        owner = self._tenant(tenant).customer_by_email(email)
        if owner is not None and owner.id != customer_id:
            raise errors.EmailAlreadyUsed(
                f"The email '{email}' is already used by another customer.",
                [errors.FieldProblem("newEmail", "already_used", "This email is already used.")],
            )

    # Clock ------------------------------------------------------------------------------------

    @_locked
    def advance_clock(self, seconds: float) -> float:
        if not 0 <= seconds <= LATEST_TIME - self.clock.now():
            raise errors.ValidationFailed.for_field(
                "advanceSeconds",
                "invalid_value",
                f"'advanceSeconds' must be between 0 and {LATEST_TIME - self.clock.now():.0f}"
                " (the clock cannot move past the year 9999).",
            )
        return self.clock.advance(seconds)

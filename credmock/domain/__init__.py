"""The domain: the credential rules over the store. No Flask, no Connexion, no wire names: an
error names a field after the rule's parameter (``new_password``), and the handler renames it
as the contract does (``newPassword``, see ``handlers.fields.wire_names``).

May import: :mod:`credmock.core`, :mod:`credmock.settings` and :mod:`credmock.store`; never the
mail, HTTP or observing layers, nor a web framework. What it needs from above (the outbox that
sends a token's email) it declares in :mod:`credmock.domain.ports` and is handed at start.

Each use case is one object, in one file, named after what it does, that receives what it uses
(the store, the clock, the token source, the use cases it calls):

- :mod:`credmock.domain.sessions`: tokens, login, refresh, logout, profile, the bearer check;
- :mod:`credmock.domain.customers`: signup and the mock API's customers;
- :mod:`credmock.domain.profile`: the logged-in customer's profile update;
- :mod:`credmock.domain.addresses`: the logged-in customer's addresses;
- :mod:`credmock.domain.passwords`: reset request, reset, change;
- :mod:`credmock.domain.email_change`: login email change and its confirmation;
- :mod:`credmock.domain.email_tokens`: the one-time tokens the last two send by email;
- :mod:`credmock.domain.state`: fixtures, reset, clock, counts;
- :mod:`credmock.domain.activation`: double opt-in signup, activation and its resend;
- :mod:`credmock.domain.identity_provider`: the mock identity provider (codes, signed tokens);
- :mod:`credmock.domain.social_login`: social login and token exchange through that provider;
- :mod:`credmock.domain.tenants`, :mod:`credmock.domain.purging`: the tenant rule and the purge
  of what has expired, which several use cases share.

:class:`Domain` builds them and is the one entry point the handlers call: each rule is reached
by the operation's name (operationId ``...-reset-password`` -> handler ``reset_password`` ->
``Domain.reset_password``, which is ``Passwords.reset_password``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from credmock.core.clock import Clock
from credmock.core.models import AccessToken
from credmock.core.token_source import TokenSource
from credmock.domain.activation import Activation
from credmock.domain.addresses import Addresses
from credmock.domain.customers import Customers
from credmock.domain.email_change import EmailChanges
from credmock.domain.email_tokens import EmailTokens
from credmock.domain.identity_provider import IdentityProvider
from credmock.domain.passwords import Passwords
from credmock.domain.ports import Outbox
from credmock.domain.profile import Profiles
from credmock.domain.purging import Purger
from credmock.domain.sessions import Sessions, require_profile_edit_scope
from credmock.domain.social_login import SocialLogins
from credmock.domain.state import State
from credmock.domain.tenants import TenantRule
from credmock.settings import Settings
from credmock.store import Store

P = ParamSpec("P")
R = TypeVar("R")


class _Rule(Generic[P, R]):
    """A method of :class:`Domain` that is the method of the same name of one of its use cases
    (``reset_password = _Rule("passwords", Passwords.reset_password)``), typed as that method."""

    def __init__(self, use_case: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.use_case = use_case
        self.method = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method.__name__:
            raise TypeError(f"Domain.{name} must be named as the rule it calls ({self.method.__name__})")

    @overload
    def __get__(self, domain: None, owner: type | None = None) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, domain: Domain, owner: type | None = None) -> Callable[P, R]: ...

    def __get__(self, domain: Domain | None, owner: type | None = None) -> Callable[..., R]:
        if domain is None:
            return self.method
        return getattr(getattr(domain, self.use_case), self.method.__name__)


class Domain:
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        outbox: Outbox,
        token_source: TokenSource | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.outbox = outbox
        self.clock = clock or Clock(settings.clock_start, store)
        self.token_source = token_source or TokenSource(settings.seed)
        self.tenant_rule = TenantRule(strict=settings.strict_tenants)
        purger = Purger(store, self.clock)
        email_tokens = EmailTokens(store, self.clock, self.token_source, purger, outbox)
        self.sessions = Sessions(settings, store, self.clock, self.token_source, self.tenant_rule, purger)
        self.customers = Customers(settings, store, self.token_source, self.tenant_rule)
        self.profiles = Profiles(store)
        self.addresses = Addresses(store, self.token_source)
        self.passwords = Passwords(settings, store, self.token_source, email_tokens)
        self.email_changes = EmailChanges(settings, store, email_tokens)
        self.state = State(
            settings, store, self.clock, self.token_source, self.tenant_rule, purger, self.customers
        )
        self.load_fixtures()
        if settings.reset_on_start:
            self.reset_state()
        else:
            self.fill_if_empty()
        self.activation = Activation(
            settings, store, self.tenant_rule, self.customers, self.sessions, email_tokens
        )
        self.identity_provider = IdentityProvider(settings, store, self.clock, self.token_source)
        self.social_logins = SocialLogins(
            settings,
            store,
            self.token_source,
            self.tenant_rule,
            self.customers,
            self.sessions,
            self.identity_provider,
        )

    @property
    def known_tenants(self) -> tuple[str, ...]:
        return self.tenant_rule.known

    def validate_tenant(self, tenant: str) -> None:
        self.tenant_rule.validate(tenant)

    @staticmethod
    def require_profile_edit_scope(access_token: AccessToken) -> None:
        require_profile_edit_scope(access_token)

    def close(self) -> None:
        self.store.close()

    # Sessions and tokens
    authenticate = _Rule("sessions", Sessions.authenticate)
    anonymous_login = _Rule("sessions", Sessions.anonymous_login)
    anonymous_refresh = _Rule("sessions", Sessions.anonymous_refresh)
    customer_token = _Rule("sessions", Sessions.customer_token)
    login = _Rule("sessions", Sessions.login)
    refresh_customer_token = _Rule("sessions", Sessions.refresh_customer_token)
    logout = _Rule("sessions", Sessions.logout)
    validate_token = _Rule("sessions", Sessions.validate_token)
    get_profile = _Rule("sessions", Sessions.get_profile)
    create_access_token = _Rule("sessions", Sessions.create_access_token)
    # Customers, their profile and addresses
    create_customer = _Rule("customers", Customers.create_customer)
    signup = _Rule("activation", Activation.signup)
    list_customers = _Rule("customers", Customers.list_customers)
    get_customer = _Rule("customers", Customers.get_customer)
    update_profile = _Rule("profiles", Profiles.update_profile)
    save_profile = _Rule("profiles", Profiles.save_profile)
    add_address = _Rule("addresses", Addresses.add_address)
    list_addresses = _Rule("addresses", Addresses.list_addresses)
    get_address = _Rule("addresses", Addresses.get_address)
    update_address = _Rule("addresses", Addresses.update_address)
    save_address = _Rule("addresses", Addresses.save_address)
    delete_address = _Rule("addresses", Addresses.delete_address)
    add_address_tags = _Rule("addresses", Addresses.add_address_tags)
    remove_address_tags = _Rule("addresses", Addresses.remove_address_tags)
    # Passwords and the login email
    request_reset_password = _Rule("passwords", Passwords.request_reset_password)
    reset_password = _Rule("passwords", Passwords.reset_password)
    change_account_password = _Rule("passwords", Passwords.change_account_password)
    change_customer_login_email = _Rule("email_changes", EmailChanges.change_customer_login_email)
    confirm_customer_login_email = _Rule("email_changes", EmailChanges.confirm_customer_login_email)
    # The state as a whole
    load_fixtures = _Rule("state", State.load_fixtures)
    fill_if_empty = _Rule("state", State.fill_if_empty)
    reset_state = _Rule("state", State.reset_state)
    purge_expired = _Rule("state", State.purge_expired)
    advance_clock = _Rule("state", State.advance_clock)
    tenants = _Rule("state", State.tenants)
    get_health = _Rule("state", State.get_health)
    # Double opt-in, the mock identity provider, social login and token exchange
    confirm_signup = _Rule("activation", Activation.confirm_signup)
    resend_activation = _Rule("activation", Activation.resend_activation)
    check_authorize_request = _Rule("identity_provider", IdentityProvider.check_authorize_request)
    idp_authorize = _Rule("identity_provider", IdentityProvider.idp_authorize)
    idp_token = _Rule("identity_provider", IdentityProvider.idp_token)
    idp_jwks = _Rule("identity_provider", IdentityProvider.idp_jwks)
    social_login = _Rule("social_logins", SocialLogins.social_login)
    exchange_auth_token = _Rule("social_logins", SocialLogins.exchange_auth_token)


__all__ = ["Domain", "Outbox"]

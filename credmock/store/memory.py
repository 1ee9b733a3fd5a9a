"""The default store: dicts in this process, each operation under one lock. As fast as it gets;
the state ends with the process and cannot be shared."""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Iterator, Mapping

from credmock.core.coverage import CoverageKey
from credmock.core.email_address import email_key
from credmock.core.identity import AuthorizationCode
from credmock.core.messages import Delivery, Email
from credmock.core.models import AccessToken, Customer, EmailToken


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._idp_signing_key: str | None = None  # kept across resets
        self._forget_all()
        self._coverage: dict[CoverageKey, int] = {}  # beside the state: _forget_all leaves it

    def _forget_all(self) -> None:
        self._filled = False
        self._offset = 0.0
        self._tenants: dict[str, None] = {}  # insertion-ordered set
        self._customers: dict[tuple[str, str], Customer] = {}
        self._ids_by_email: dict[tuple[str, str], str] = {}  # (tenant, email_key(login email))
        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> access token value
        self._email_tokens: dict[str, EmailToken] = {}
        self._live_email_tokens: dict[tuple[str, str, str], str] = {}  # (tenant, customer, purpose)
        self._outbox: deque[Email] = deque()
        self._deliveries: dict[str, Delivery] = {}  # email id -> its delivery, for emails kept
        self._authorization_codes: dict[str, AuthorizationCode] = {}

    def is_filled(self) -> bool:
        return self._filled

    def fill(self, tenants: list[str], customers: list[Customer], *, replace: bool) -> bool:
        with self._lock:
            if replace:
                self._forget_all()
            elif self._filled:
                return False
            self._filled = True
            for tenant in tenants:
                self._tenants[tenant] = None
            for customer in customers:
                self.add_customer(customer)
            return True

    def close(self) -> None:
        pass

    # Tenants and customers --------------------------------------------------------------------

    def add_tenant(self, name: str) -> None:
        with self._lock:
            self._tenants[name] = None

    def tenants(self) -> list[str]:
        with self._lock:
            return list(self._tenants)

    def add_customer(self, customer: Customer) -> str | None:
        key = (customer.tenant, email_key(customer.email))
        with self._lock:
            if key in self._ids_by_email:
                return "email"
            if (customer.tenant, customer.id) in self._customers:
                return "id"
            self._tenants[customer.tenant] = None
            self._customers[(customer.tenant, customer.id)] = customer
            self._ids_by_email[key] = customer.id
            return None

    def customer(self, tenant: str, customer_id: str) -> Customer | None:
        return self._customers.get((tenant, customer_id))

    def customer_by_email(self, tenant: str, email: str) -> Customer | None:
        with self._lock:
            customer_id = self._ids_by_email.get((tenant, email_key(email)))
            return self._customers.get((tenant, customer_id)) if customer_id else None

    def customers(self, tenant: str) -> list[Customer]:
        with self._lock:
            return [customer for (owner, _), customer in self._customers.items() if owner == tenant]

    def customer_count(self) -> int:
        return len(self._customers)

    def set_password_hash(
        self, tenant: str, customer_id: str, password_hash: str, *, replacing: str | None = None
    ) -> bool:
        with self._lock:
            customer = self._customers.get((tenant, customer_id))
            if customer is None or replacing not in (None, customer.password_hash):
                return False
            self._customers[(tenant, customer_id)] = dataclasses.replace(
                customer, password_hash=password_hash, initial_password=False
            )
            return True

    def change_login_email(
        self, tenant: str, customer_id: str, new_email: str, *, sync_contact_email: bool
    ) -> bool:
        with self._lock:
            customer = self._customers.get((tenant, customer_id))
            if customer is None:
                return False
            owner = self._ids_by_email.get((tenant, email_key(new_email)))
            if owner is not None and owner != customer_id:
                return False
            del self._ids_by_email[(tenant, email_key(customer.email))]
            self._ids_by_email[(tenant, email_key(new_email))] = customer_id
            contact = new_email if sync_contact_email else customer.contact_email
            self._customers[(tenant, customer_id)] = dataclasses.replace(
                customer, email=new_email, contact_email=contact, version=customer.version + 1
            )
            return True

    def record_login(self, tenant: str, customer_id: str, at: float) -> bool:
        with self._lock:
            customer = self._customers.get((tenant, customer_id))
            if customer is None:
                return False
            self._customers[(tenant, customer_id)] = dataclasses.replace(customer, last_login=at)
            return True

    def replace_profile(self, updated: Customer, *, version: int) -> bool:
        key = (updated.tenant, updated.id)
        with self._lock:
            customer = self._customers.get(key)
            if customer is None or customer.version != version:
                return False
            self._customers[key] = dataclasses.replace(
                customer,
                first_name=updated.first_name,
                last_name=updated.last_name,
                contact_email=updated.contact_email,
                profile=updated.profile,
                version=version + 1,
            )
            return True

    # Access tokens ----------------------------------------------------------------------------

    def add_access_token(self, token: AccessToken) -> bool:
        with self._lock:
            if token.customer_id is not None and (token.tenant, token.customer_id) not in self._customers:
                return False
            self._access_tokens[token.value] = token
            if token.refresh_token:
                self._refresh_tokens[token.refresh_token] = token.value
            return True

    def access_token(self, value: str) -> AccessToken | None:
        return self._access_tokens.get(value)

    def access_token_of_refresh_token(self, refresh_token: str) -> AccessToken | None:
        with self._lock:
            value = self._refresh_tokens.get(refresh_token)
            return self._access_tokens.get(value) if value else None

    def spend_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            return self._refresh_tokens.pop(refresh_token, None) is not None

    def forget_access_tokens(self, tenant: str, customer_id: str, session_id: str | None = None) -> None:
        with self._lock:
            for value in [
                value
                for value, token in self._access_tokens.items()
                if token.tenant == tenant
                and token.customer_id == customer_id
                and (session_id is None or token.session_id == session_id)
            ]:
                self.forget_access_token(value)

    def forget_access_token(self, value: str) -> None:
        with self._lock:
            token = self._access_tokens.pop(value, None)
            if token and token.refresh_token:
                self._refresh_tokens.pop(token.refresh_token, None)

    # Email tokens -----------------------------------------------------------------------------

    def replace_email_token(self, token: EmailToken) -> bool:
        live_key = (token.tenant, token.customer_id, token.purpose)
        with self._lock:
            if (token.tenant, token.customer_id) not in self._customers:
                return False
            previous = self._live_email_tokens.get(live_key)
            if previous:
                self._email_tokens.pop(previous, None)
            self._email_tokens[token.value] = token
            self._live_email_tokens[live_key] = token.value
            return True

    def email_token(self, value: str) -> EmailToken | None:
        return self._email_tokens.get(value)

    def spend_email_token(self, value: str) -> bool:
        with self._lock:
            token = self._email_tokens.pop(value, None)
            if token is None:
                return False
            live_key = (token.tenant, token.customer_id, token.purpose)
            if self._live_email_tokens.get(live_key) == value:
                del self._live_email_tokens[live_key]
            return True

    # Outbox -----------------------------------------------------------------------------------

    def add_email(self, email: Email, capacity: int) -> None:
        with self._lock:
            if email.delivery is not None:
                self._deliveries[email.id] = dataclasses.replace(email.delivery)
                email = dataclasses.replace(email, delivery=None)
            self._outbox.append(email)
            while len(self._outbox) > capacity:
                self._deliveries.pop(self._outbox.popleft().id, None)

    def set_delivery(self, email_id: str, delivery: Delivery) -> None:
        with self._lock:
            if email_id in self._deliveries:
                self._deliveries[email_id] = dataclasses.replace(delivery)

    def emails(self) -> Iterator[Email]:
        with self._lock:
            snapshot = list(self._outbox)
            deliveries = dict(self._deliveries)
        if deliveries:
            snapshot = [
                dataclasses.replace(email, delivery=deliveries[email.id]) if email.id in deliveries else email
                for email in snapshot
            ]
        return reversed(snapshot)

    def email_count(self) -> int:
        return len(self._outbox)

    def clear_outbox(self) -> None:
        with self._lock:
            self._outbox.clear()
            self._deliveries.clear()

    # Clock ------------------------------------------------------------------------------------

    def clock_offset(self, max_age: float = 0.0) -> float:
        return self._offset

    def advance_clock(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
            return self._offset

    # API coverage -----------------------------------------------------------------------------

    def add_coverage(self, counts: Mapping[CoverageKey, int]) -> None:
        with self._lock:
            for key, requests in counts.items():
                self._coverage[key] = self._coverage.get(key, 0) + requests

    def coverage(self) -> dict[CoverageKey, int]:
        with self._lock:
            return dict(self._coverage)

    def clear_coverage(self) -> None:
        with self._lock:
            self._coverage.clear()

    # Housekeeping -----------------------------------------------------------------------------

    def purge(self, now: float, expired_token_memory: float) -> None:
        with self._lock:
            for value in [
                v for v, t in self._access_tokens.items() if t.expires_at + expired_token_memory <= now
            ]:
                self.forget_access_token(value)
            for value in [v for v, t in self._email_tokens.items() if t.expires_at <= now]:
                self.spend_email_token(value)

    # Double opt-in and the mock identity provider ---------------------------------------------

    def activate_customer(self, tenant: str, customer_id: str) -> bool:
        with self._lock:
            customer = self._customers.get((tenant, customer_id))
            if customer is None or customer.active:
                return False
            self._customers[(tenant, customer_id)] = dataclasses.replace(customer, active=True)
            return True

    def idp_signing_key(self, candidate: str) -> str:
        with self._lock:
            if self._idp_signing_key is None:
                self._idp_signing_key = candidate
            return self._idp_signing_key

    def add_authorization_code(self, code: AuthorizationCode, now: float) -> None:
        with self._lock:
            for value in [v for v, c in self._authorization_codes.items() if c.expires_at <= now]:
                del self._authorization_codes[value]
            self._authorization_codes[code.value] = code

    def spend_authorization_code(self, value: str) -> AuthorizationCode | None:
        with self._lock:
            return self._authorization_codes.pop(value, None)

"""The state as a whole: filling an empty store from the fixtures, resetting, moving the clock,
counting."""

from __future__ import annotations

from dataclasses import dataclass, field

from credmock.core import exceptions as errors
from credmock.core.clock import Clock
from credmock.core.email_address import email_key
from credmock.core.models import Customer
from credmock.core.seeding import CustomerSeed, FixtureError, fake_customers, load_fixtures
from credmock.core.token_source import TokenSource
from credmock.domain.customers import Customers, taken_error
from credmock.domain.purging import Purger
from credmock.domain.tenants import TenantRule, is_valid_tenant
from credmock.settings import Settings
from credmock.store import Store


@dataclass
class State:
    settings: Settings
    store: Store
    clock: Clock
    token_source: TokenSource
    tenant_rule: TenantRule
    purger: Purger
    customers: Customers
    # Read from the fixtures file by load_fixtures.
    _fixture_customers: list[CustomerSeed] = field(default_factory=list, init=False)
    _fake_tenants: list[str] = field(default_factory=lambda: ["demo"], init=False)

    def load_fixtures(self) -> None:
        """Read the fixtures file: a bad one is refused at start, whatever the store holds."""
        path = self.settings.fixtures_path
        fixture_tenants, self._fixture_customers = load_fixtures(path) if path else ([], [])
        for tenant in fixture_tenants:
            if not is_valid_tenant(tenant):
                raise FixtureError(
                    f"{path}: tenant {tenant!r} is not a valid tenant name "
                    "(a lowercase letter, then lowercase letters or digits, 3 to 16 characters)"
                )
        # The tenants the fake customers go to: those of the fixtures, else "demo".
        self._fake_tenants = fixture_tenants or ["demo"]
        # The known tenants: those of the fixtures, and "demo" when only it has (fake) customers.
        self.tenant_rule.known = tuple(
            fixture_tenants or (self._fake_tenants if self.settings.fake_customers > 0 else ())
        )
        if self.settings.strict_tenants and not self.tenant_rule.known:
            raise ValueError("strict tenants (--strict-tenants) need fixtures naming the tenants to serve")

    def fill_if_empty(self) -> bool:
        """Fixtures and fake customers into an empty store; a store that holds state keeps it.
        Of several processes starting on one store, exactly one fills it."""
        if self.store.is_filled():
            return False
        return self.store.fill(list(self.tenant_rule.known), self._built_fixture_customers(), replace=False)

    def reset_state(self) -> None:
        """Back to the fixtures: customers as loaded, no tokens, empty outbox, clock as started.
        One atomic step of the store: another instance sees the state before or after it."""
        self.token_source.reset()
        self.store.fill(list(self.tenant_rule.known), self._built_fixture_customers(), replace=True)
        self.purger.reset()
        self.tenant_rule.forget_logged()

    def _built_fixture_customers(self) -> list[Customer]:
        """The customers of the fixtures, then the fake ones, built (not stored) in that order, so
        a seeded run draws the same ids and salts every time. A problem names the file and entry."""
        built: dict[tuple[str, str], Customer] = {}
        emails: set[tuple[str, str]] = set()

        def add(seed: CustomerSeed) -> None:
            # An existing account: the password policy, which governs new passwords, does not apply.
            try:
                customer = self.customers.build_customer(
                    seed, lambda candidate: (seed.tenant, candidate) in built, check_policy=False
                )
                if (seed.tenant, email_key(customer.email)) in emails:
                    raise taken_error("email", customer)
                if (seed.tenant, customer.id) in built:
                    raise taken_error("id", customer)
            except errors.ApiError as error:
                raise FixtureError(
                    f"{self.settings.fixtures_path}: tenant {seed.tenant!r}, "
                    f"customer {seed.email!r}: {error.message}"
                ) from None
            built[(seed.tenant, customer.id)] = customer
            emails.add((seed.tenant, email_key(customer.email)))

        for seed in self._fixture_customers:
            add(seed)
        for tenant in self._fake_tenants:
            # One Faker seed per tenant, drawn from the token source: reproducible with --seed,
            # and different people in each tenant.
            for seed in fake_customers(tenant, self.settings.fake_customers, self.token_source.integer()):
                add(seed)
        return list(built.values())

    def purge_expired(self) -> None:
        self.purger.purge_expired()

    def advance_clock(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def tenants(self) -> list[str]:
        return self.store.tenants()

    def get_health(self) -> dict[str, int]:
        return {
            "tenants": len(self.store.tenants()),
            "customers": self.store.customer_count(),
            "outbox": self.store.email_count(),
        }

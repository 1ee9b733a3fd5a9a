"""The state as a whole: filling an empty store from the fixtures, resetting, purging what has
expired, moving the clock, counting."""

from __future__ import annotations

from credmock import exceptions as errors
from credmock.domain.base import DomainBase, is_valid_tenant
from credmock.seeding import CustomerSeed, FixtureError, fake_customers, load_fixtures

# Expired access tokens are remembered this long, so they answer "Access Token expired";
# after that they answer "Invalid access token", as unknown ones do, and are purged.
EXPIRED_TOKEN_MEMORY = 86_400
# Adding state first purges what has expired, at most this often (seconds of the mock's clock).
PURGE_INTERVAL = 60


class StateRules(DomainBase):
    def load_fixtures(self) -> None:
        """Read the fixtures file: a bad one is refused at start, whatever the store holds."""
        path = self.settings.fixtures_path
        self._fixture_tenants, self._fixture_customers = load_fixtures(path) if path else ([], [])
        for tenant in self._fixture_tenants:
            if not is_valid_tenant(tenant):
                raise FixtureError(
                    f"{path}: tenant {tenant!r} is not a valid tenant name "
                    "(a lowercase letter, then lowercase letters or digits, 3 to 16 characters)"
                )
        # The tenants the fake customers go to: those of the fixtures, else "demo".
        self._fake_tenants = self._fixture_tenants or ["demo"]
        # The known tenants: those of the fixtures, and "demo" when only it has (fake) customers.
        self.known_tenants = tuple(
            self._fixture_tenants or (self._fake_tenants if self.settings.fake_customers > 0 else ())
        )
        if self.settings.strict_tenants and not self.known_tenants:
            raise ValueError("strict tenants (--strict-tenants) need fixtures naming the tenants to serve")

    def fill_if_empty(self) -> bool:
        """Fixtures and fake customers into an empty store; a store that holds state keeps it.
        Of several processes starting on one store, exactly one fills it."""
        if not self.store.claim_fill():
            return False
        for tenant in self.known_tenants:
            self.store.add_tenant(tenant)
        for seed in self._fixture_customers:
            self._add_seeded_customer(seed)
        for tenant in self._fake_tenants:
            # One Faker seed per tenant, drawn from the token source: reproducible with --seed,
            # and different people in each tenant.
            for seed in fake_customers(tenant, self.settings.fake_customers, self.token_source.integer()):
                self._add_seeded_customer(seed)
        return True

    def _add_seeded_customer(self, seed: CustomerSeed) -> None:
        """A customer of the fixtures (or Faker): an existing account, so the password policy,
        which governs new passwords, does not apply; any other problem names the file and entry."""
        try:
            self._add_customer(seed, check_policy=False)  # type: ignore[attr-defined]
        except errors.ApiError as error:
            raise FixtureError(
                f"{self.settings.fixtures_path}: tenant {seed.tenant!r}, "
                f"customer {seed.email!r}: {error.message}"
            ) from None

    def reset_state(self) -> None:
        """Back to the fixtures: customers as loaded, no tokens, empty outbox, clock as started."""
        self.store.clear()
        self.token_source.reset()
        self._last_purge = float("-inf")
        self._tenants_logged.clear()
        self.fill_if_empty()

    def purge_expired(self) -> None:
        """Forget expired email tokens and access tokens expired for longer than a day."""
        now = self.clock.now()
        self._last_purge = now
        self.store.purge(now, EXPIRED_TOKEN_MEMORY)

    def purge_expired_if_due(self, now: float) -> None:
        if not self._last_purge <= now < self._last_purge + PURGE_INTERVAL:
            self.purge_expired()

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

"""Forgetting what has expired: email tokens past their lifetime, access tokens a day after
theirs. Done by the rules that add state, at most once a minute of the mock's clock."""

from __future__ import annotations

from credmock.core.clock import Clock
from credmock.store import Store

# Expired access tokens are remembered this long, so they answer "Access Token expired";
# after that they answer "Invalid access token", as unknown ones do, and are purged.
EXPIRED_TOKEN_MEMORY = 86_400
# Adding state first purges what has expired, at most this often (seconds of the mock's clock).
PURGE_INTERVAL = 60


class Purger:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._last_purge = float("-inf")

    def purge_expired(self) -> None:
        """Forget expired email tokens and access tokens expired for longer than a day."""
        now = self.clock.now()
        self._last_purge = now
        self.store.purge(now, EXPIRED_TOKEN_MEMORY)

    def purge_expired_if_due(self, now: float) -> None:
        if not self._last_purge <= now < self._last_purge + PURGE_INTERVAL:
            self.purge_expired()

    def reset(self) -> None:
        """Purge at the next chance (after a reset, or a move of the clock backwards)."""
        self._last_purge = float("-inf")

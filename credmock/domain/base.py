"""What every group of rules works with: the settings, the store, the clock, the token source and
the outbox, injected so tests control them; and the tenant rule every operation starts with."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from credmock import exceptions as errors
from credmock.clock import Clock
from credmock.mail import check_link_template
from credmock.outbox import Outbox
from credmock.settings import Settings
from credmock.store import Store, open_store
from credmock.token_source import TokenSource

TENANT_PATTERN = re.compile(r"^[a-z][a-z0-9]+$")
TENANT_LENGTH = range(3, 17)
# The clock and token lifetimes stay within what a timestamp can show (ISO 8601, year 9999).
LATEST_TIME = datetime(9999, 12, 31, tzinfo=UTC).timestamp()


def is_valid_tenant(tenant: str) -> bool:
    return len(tenant) in TENANT_LENGTH and TENANT_PATTERN.match(tenant) is not None


logger = logging.getLogger("credmock")


class DomainBase:
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self.settings = settings
        check_link_template(settings.password_reset_link, "the password reset link (--reset-link)")
        check_link_template(settings.email_change_link, "the email change link (--email-change-link)")
        self.store = store or open_store(settings.state)
        self.clock = Clock(settings.clock_start, self.store)
        self.token_source = token_source or TokenSource(settings.seed)
        self.outbox = Outbox.for_settings(settings, self.store)
        self._last_purge = float("-inf")
        self.known_tenants: tuple[str, ...] = ()
        self._tenants_logged: set[str] = set()

    def validate_tenant(self, tenant: str) -> None:
        """The contract's tenant error for a malformed tenant, and, with ``strict_tenants``, for one
        not in the fixtures. Otherwise a tenant not in the fixtures is served (empty), and its
        first use is logged: a typo such as 'dmeo' makes a tenant where every login fails."""
        if tenant in self.known_tenants:
            return
        if not is_valid_tenant(tenant) or self.settings.strict_tenants:
            raise errors.InvalidTenant()
        if tenant not in self._tenants_logged:
            self._tenants_logged.add(tenant)
            known = ", ".join(self.known_tenants) or "none"
            logger.warning("tenant %r is not in the fixtures (known: %s); it starts empty", tenant, known)

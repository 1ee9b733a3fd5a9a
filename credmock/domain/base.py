"""What every group of rules works with: the settings, the store, the clock, the token source and
the outbox, injected so tests control them; and the tenant rule every operation starts with."""

from __future__ import annotations

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


def validate_tenant(tenant: str) -> None:
    if not is_valid_tenant(tenant):
        raise errors.InvalidTenant()


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
        self.outbox = Outbox(self.store, settings.outbox_capacity)
        self._last_purge = float("-inf")

"""The tenant rule every operation starts with: which tenant names are valid, which are known
from the fixtures, and what a first use of an unknown one does."""

from __future__ import annotations

import logging
import re

from credmock.core import exceptions as errors

# The contract's Tenant pattern; applied to the whole name (fullmatch: ``$`` would also match
# before a final line feed, and ``demo\n`` would pass).
TENANT_PATTERN = re.compile(r"[a-z][a-z0-9]+")
TENANT_LENGTH = range(3, 17)

logger = logging.getLogger("credmock")


def is_valid_tenant(tenant: str) -> bool:
    return len(tenant) in TENANT_LENGTH and TENANT_PATTERN.fullmatch(tenant) is not None


class TenantRule:
    """The tenants of the fixtures (set by :class:`credmock.domain.state.State` when it loads
    them) and the check each operation makes of the tenant it is asked for."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.known: tuple[str, ...] = ()
        self._logged: set[str] = set()

    def validate(self, tenant: str) -> None:
        """The contract's tenant error for a malformed tenant, and, when strict, for one not in
        the fixtures. Otherwise a tenant not in the fixtures is served (empty), and its first use
        is logged: a typo such as 'dmeo' makes a tenant where every login fails."""
        if tenant in self.known:
            return
        if not is_valid_tenant(tenant) or self.strict:
            raise errors.InvalidTenant()
        if tenant not in self._logged:
            self._logged.add(tenant)
            known = ", ".join(self.known) or "none"
            logger.warning("tenant %r is not in the fixtures (known: %s); it starts empty", tenant, known)

    def forget_logged(self) -> None:
        """Log the first use of an unknown tenant again (after a reset)."""
        self._logged.clear()

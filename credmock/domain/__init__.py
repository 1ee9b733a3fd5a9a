"""The domain: the credential rules over the store. No Flask, no Connexion, no wire names: an
error names a field after the rule's parameter (``new_password``), and the handler renames it
as the contract does (``newPassword``, see ``handlers.fields.wire_names``).

One :class:`Domain` per app instance. Its rules are grouped by use case, one file each, and
named after the operation they serve (operationId ``...-reset-password`` -> handler
``reset_password`` -> rule ``Domain.reset_password``):

- :mod:`credmock.domain.sessions`: tokens, login, refresh, logout, profile, the bearer check;
- :mod:`credmock.domain.customers`: signup and the mock API's customers;
- :mod:`credmock.domain.profile`: the logged-in customer's profile update;
- :mod:`credmock.domain.addresses`: the logged-in customer's addresses;
- :mod:`credmock.domain.passwords`: reset request, reset, change;
- :mod:`credmock.domain.email_change`: login email change and its confirmation;
- :mod:`credmock.domain.email_tokens`: the one-time tokens the last two send by email;
- :mod:`credmock.domain.state`: fixtures, reset, purge, clock, counts.

The state sits behind a :class:`credmock.store.Store`; time, randomness and the store come in
from outside, so tests control them.
"""

from __future__ import annotations

from typing import Any

from credmock.domain.addresses import AddressRules
from credmock.domain.customers import CustomerRules
from credmock.domain.email_change import EmailChangeRules
from credmock.domain.passwords import PasswordRules
from credmock.domain.profile import ProfileRules
from credmock.domain.sessions import SessionRules
from credmock.domain.state import StateRules
from credmock.settings import Settings


class Domain(
    SessionRules, CustomerRules, ProfileRules, AddressRules, PasswordRules, EmailChangeRules, StateRules
):
    def __init__(self, settings: Settings, **parts: Any) -> None:
        """``parts``: the ``store`` and ``token_source`` to use instead of those ``settings`` name."""
        super().__init__(settings, **parts)
        self.load_fixtures()
        if settings.reset_on_start:
            self.reset_state()
        else:
            self.fill_if_empty()

    def close(self) -> None:
        self.store.close()


__all__ = ["Domain"]

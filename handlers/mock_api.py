"""The mock's own API under /_mock (spec/mock-api.yaml): read the outbox, manage customers and
tokens, move the clock, reset. What a test or a person uses to finish a flow."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from credmock.handlers import inspection as inspection_handlers
from credmock.handlers.fields import bounded_number, optional_text, require_text, require_texts, wire_names

from credmock.core import exceptions as errors
from credmock.core.clock import LATEST_TIME, iso_time
from credmock.core.models import ANONYMOUS, AccessToken, CustomerProfile
from credmock.domain import Domain
from credmock.mail.outbox import Outbox
from credmock.observe.inspection import Inspection

Body = dict[str, Any]


def _token_response(token: AccessToken) -> dict[str, Any]:
    return {
        "access_token": token.value,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
        "refresh_token": token.refresh_token,
        "session_id": token.session_id,
    }


def list_outbox(
    outbox: Outbox,
    domain: Domain,
    tenant: str | None = None,
    to: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, str]], int]:
    emails = outbox.find(tenant=tenant, to=to, kind=kind, limit=limit)
    return [email.to_dict(iso_time) for email in emails], 200


def get_latest_email(
    outbox: Outbox, domain: Domain, tenant: str | None = None, to: str | None = None, kind: str | None = None
) -> tuple[dict[str, str], int]:
    email = outbox.latest(tenant=tenant, to=to, kind=kind)
    if email is None:
        raise errors.NotFound("No email in the outbox matches.")
    return email.to_dict(iso_time), 200


def clear_outbox(outbox: Outbox, domain: Domain) -> tuple[None, int]:
    outbox.clear()
    return None, 204


def list_customers(domain: Domain, tenant: str) -> tuple[list[dict[str, str]], int]:
    return [customer.public_view() for customer in domain.list_customers(tenant)], 200


def get_customer(domain: Domain, tenant: str, customerId: str) -> tuple[dict[str, str], int]:
    return domain.get_customer(tenant, customerId).public_view(), 200


def create_customer(domain: Domain, tenant: str, body: Body) -> tuple[dict[str, str], int]:
    email, password = require_texts(email=body.get("email"), password=body.get("password"))
    with wire_names(contactEmail="contact_email"):
        customer = domain.create_customer(
            tenant,
            email,
            password,
            first_name=body.get("firstName", ""),
            last_name=body.get("lastName", ""),
            contact_email=body.get("contactEmail"),
            profile=CustomerProfile.from_details(body),
            initial_password=body.get("initialPassword", False),
        )
    return {"id": customer.id}, 201


def create_access_token(domain: Domain, body: Body) -> tuple[dict[str, Any], int]:
    latest = LATEST_TIME - domain.clock.now()
    lifetime = bounded_number(body.get("expiresIn"), "expiresIn", 1, latest, "seconds (up to the year 9999)")
    scopes = body.get("scopes")
    token = domain.create_access_token(
        body["tenant"],
        body["kind"],
        email=None if body["kind"] == ANONYMOUS else require_text(body.get("email"), "email"),
        password=optional_text(body.get("password"), "password"),
        scopes=scopes.split() if isinstance(scopes, str) else scopes,
        lifetime=lifetime,
    )
    return _token_response(token), 201


def get_clock(domain: Domain) -> tuple[dict[str, Any], int]:
    offset = domain.clock.offset  # read first: ``now`` then uses this very offset
    return {"now": iso_time(domain.clock.now()), "offsetSeconds": offset}, 200


def advance_clock(domain: Domain, body: Body) -> tuple[dict[str, Any], int]:
    seconds = bounded_number(
        body["advanceSeconds"],
        "advanceSeconds",
        0,
        LATEST_TIME - domain.clock.now(),
        "(the clock cannot move past the year 9999)",
    )
    domain.advance_clock(seconds)
    return get_clock(domain)


def get_health(domain: Domain) -> tuple[dict[str, Any], int]:
    """Readiness: the counts come from the store, so a store that cannot answer makes this a 503."""
    return {"status": "ok", **domain.get_health()}, 200


def get_liveness(domain: Domain) -> tuple[dict[str, Any], int]:
    """Liveness: answered without the store, on the event loop, whatever the store does."""
    return {"status": "ok"}, 200


# The operations that read the outbox: they get it bound before the domain.
OUTBOX_OPERATIONS = {
    "listOutbox": list_outbox,
    "getLatestEmail": get_latest_email,
    "clearOutbox": clear_outbox,
}

OPERATIONS = {
    "listCustomers": list_customers,
    "getCustomer": get_customer,
    "createCustomer": create_customer,
    "createAccessToken": create_access_token,
    "getClock": get_clock,
    "advanceClock": advance_clock,
    "getHealth": get_health,
    "getLiveness": get_liveness,
}
# Operations that never call the store: they run on the event loop even over a store that may
# block, so they answer while it hangs (the journal and faults are the process's own).
WITHOUT_STATE = frozenset(
    {"getLiveness", "listRequests", "clearRequests", "createFault", "listFaults", "clearFaults"}
    | {"deleteFault"}
)


def operations(inspection: Inspection, outbox: Outbox) -> dict[str, Callable[..., Any]]:
    """Every operation of the mock API, each taking the domain first (as the resolver binds
    it); those of :mod:`inspection_handlers` get the app's ``inspection`` bound before it, and
    those of the outbox the app's ``outbox``."""
    bound: dict[str, Callable[..., Any]] = dict(OPERATIONS)
    for component, handlers in ((inspection, inspection_handlers.OPERATIONS), (outbox, OUTBOX_OPERATIONS)):
        for operation_id, handler in handlers.items():
            with_component = functools.partial(handler, component)
            with_component.__name__ = handler.__name__  # type: ignore[attr-defined]
            with_component.__doc__ = handler.__doc__
            bound[operation_id] = with_component
    return bound

"""The mock's own API under /_mock (spec/mock-api.yaml): read the outbox, manage customers and
tokens, move the clock, reset. What a test or a person uses to finish a flow."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from credmock.handlers import inspection as inspection_handlers

from credmock import exceptions as errors
from credmock.backend import CredentialsBackend, iso_time
from credmock.inspection import Inspection
from credmock.models import ANONYMOUS, AccessToken, CustomerProfile

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
    backend: CredentialsBackend,
    tenant: str | None = None,
    to: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, str]], int]:
    emails = backend.outbox.find(tenant=tenant, to=to, kind=kind, limit=limit)
    return [email.to_dict(iso_time) for email in emails], 200


def get_latest_email(
    backend: CredentialsBackend, tenant: str | None = None, to: str | None = None, kind: str | None = None
) -> tuple[dict[str, str], int]:
    email = backend.outbox.latest(tenant=tenant, to=to, kind=kind)
    if email is None:
        raise errors.NotFound("No email in the outbox matches.")
    return email.to_dict(iso_time), 200


def clear_outbox(backend: CredentialsBackend) -> tuple[None, int]:
    backend.outbox.clear()
    return None, 204


def list_customers(backend: CredentialsBackend, tenant: str) -> tuple[list[dict[str, str]], int]:
    return [customer.public_view() for customer in backend.list_customers(tenant)], 200


def create_customer(backend: CredentialsBackend, tenant: str, body: Body) -> tuple[dict[str, str], int]:
    customer = backend.create_customer(
        tenant,
        body.get("email"),
        body.get("password"),
        first_name=body.get("firstName", ""),
        last_name=body.get("lastName", ""),
        contact_email=body.get("contactEmail"),
        profile=CustomerProfile.from_details(body),
        initial_password=body.get("initialPassword", False),
    )
    return {"id": customer.id}, 201


def create_access_token(backend: CredentialsBackend, body: Body) -> tuple[dict[str, Any], int]:
    if body["kind"] == ANONYMOUS:
        token = backend.issue_anonymous_token(body["tenant"], lifetime=body.get("expiresIn"))
    else:
        scopes = body.get("scopes")
        token = backend.issue_customer_token(
            body["tenant"],
            body.get("email"),
            password=body.get("password"),
            scopes=scopes.split() if isinstance(scopes, str) else scopes,
            lifetime=body.get("expiresIn"),
        )
    return _token_response(token), 201


def get_clock(backend: CredentialsBackend) -> tuple[dict[str, Any], int]:
    return {"now": iso_time(backend.clock.now()), "offsetSeconds": backend.clock.offset}, 200


def advance_clock(backend: CredentialsBackend, body: Body) -> tuple[dict[str, Any], int]:
    backend.advance_clock(body["advanceSeconds"])
    return get_clock(backend)


def get_health(backend: CredentialsBackend) -> tuple[dict[str, Any], int]:
    return {"status": "ok", **backend.counts()}, 200


OPERATIONS = {
    "listOutbox": list_outbox,
    "getLatestEmail": get_latest_email,
    "clearOutbox": clear_outbox,
    "listCustomers": list_customers,
    "createCustomer": create_customer,
    "createAccessToken": create_access_token,
    "getClock": get_clock,
    "advanceClock": advance_clock,
    "getHealth": get_health,
}


def operations(inspection: Inspection) -> dict[str, Callable[..., Any]]:
    """Every operation of the mock API, each taking the backend first (as the resolver binds
    it); those of :mod:`inspection_handlers` get the app's ``inspection`` bound before it."""
    bound: dict[str, Callable[..., Any]] = dict(OPERATIONS)
    for operation_id, handler in inspection_handlers.OPERATIONS.items():
        with_inspection = functools.partial(handler, inspection)
        with_inspection.__name__ = handler.__name__  # type: ignore[attr-defined]
        with_inspection.__doc__ = handler.__doc__
        bound[operation_id] = with_inspection
    return bound

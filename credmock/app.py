"""The app factory: one Connexion app per call, owning one backend and its state.

Wiring happens here, at load time, so the spec files stay pure contracts: operationIds are
mapped to handler functions bound to this app's backend, bearer schemes to the backend's token
check, request bodies to a validator that answers in the contract's error shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import connexion
import yaml
from connexion.exceptions import ResolverError
from connexion.resolver import Resolver

from credmock import http_errors
from credmock.backend import CredentialsBackend
from credmock.handlers import credentials, mock_api
from credmock.security import security_map
from credmock.settings import Settings
from credmock.validation import validator_map

CONTRACT_SPEC = "openapi.yaml"
MOCK_API_SPEC = "mock-api.yaml"


def load_spec(name: str) -> dict[str, Any]:
    """A spec file of ``spec/`` as a dict (a fresh copy: wiring never changes the file)."""
    return yaml.safe_load(resources.files("credmock.spec").joinpath(name).read_text(encoding="utf-8"))


class OperationResolver(Resolver):
    """operationId -> handler, from an explicit table; each handler gets the backend first."""

    def __init__(self, operations: Mapping[str, Callable[..., Any]], backend: CredentialsBackend):
        super().__init__()
        self.operations = operations
        self.backend = backend

    def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
        handler = self.operations.get(operation_id)
        if handler is None:
            raise ResolverError(f"no handler for operationId {operation_id!r}")
        bound = functools.partial(handler, self.backend)
        bound.__name__ = handler.__name__  # type: ignore[attr-defined]
        bound.__doc__ = handler.__doc__
        return bound


class CredmockApp(connexion.FlaskApp):
    """A Connexion app with its :class:`CredentialsBackend` at hand, for tests and the CLI."""

    backend: CredentialsBackend
    settings: Settings

    def reset(self) -> None:
        self.backend.reset()


def create_app(settings: Settings | None = None, backend: CredentialsBackend | None = None) -> CredmockApp:
    settings = settings or Settings()
    backend = backend or CredentialsBackend(settings)
    app = CredmockApp(__name__, validator_map=validator_map())
    app.settings = settings
    app.backend = backend
    apis: list[tuple[str, Mapping[str, Callable[..., Any]]]] = [
        (CONTRACT_SPEC, credentials.OPERATIONS),
        (MOCK_API_SPEC, mock_api.OPERATIONS),
    ]
    for spec_name, operations in apis:
        spec = load_spec(spec_name)
        app.add_api(
            spec,
            resolver=OperationResolver(operations, backend),
            validate_responses=settings.validate_responses,
            security_map=security_map(backend, spec),
        )
    http_errors.install(app)
    return app

"""How bearer tokens are checked: wired into Connexion at load time, never written in the spec.

The contract names two bearer schemes, ``AnonymousAccessToken`` and ``CustomerAccessToken``.
Connexion hands a security handler only the scheme's definition, not its name, so the handler
built here recognises each scheme by its definition within one spec.

The mock API's apiKey scheme (``X-Mock-Control-Token``) is checked against the control token
the server was started with: open when there is none, 401 in ``ErrorMessage`` shape otherwise.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler

from credmock import exceptions as errors
from credmock.domain import Domain

CUSTOMER_SCHEME = "CustomerAccessToken"
ANONYMOUS_SCHEME = "AnonymousAccessToken"


def _definition_key(definition: dict[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True)


def security_map(domain: Domain, spec: dict[str, Any]) -> dict[str, type]:
    """Connexion's ``security_map`` for one spec: its bearer schemes checked by ``domain``."""
    customer_required_by_definition: dict[str, bool] = {}
    for name, definition in spec.get("components", {}).get("securitySchemes", {}).items():
        if definition.get("scheme", "").lower() != "bearer":
            continue
        key = _definition_key(definition)
        if key in customer_required_by_definition:
            raise ValueError(f"security scheme {name} is defined exactly like another bearer scheme")
        customer_required_by_definition[key] = name == CUSTOMER_SCHEME

    def verifier(customer_required: bool) -> Callable[..., dict[str, Any]]:
        def verify_bearer_token(token: str, request: Any) -> dict[str, Any]:
            tenant = request.path_params.get("tenant") or request.query_params.get("tenant") or ""
            access_token = domain.authenticate(token, tenant, customer_required=customer_required)
            return {
                "sub": access_token.customer_id or ANONYMOUS_SCHEME,
                "scope": list(access_token.scopes),
                "access_token": access_token,
            }

        return verify_bearer_token

    class BackendBearerSecurityHandler(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., dict[str, Any]]:
            customer_required = customer_required_by_definition.get(_definition_key(security_scheme), True)
            return verifier(customer_required)

        def check_bearer_token(
            self, token_info_func: Callable[..., dict[str, Any]]
        ) -> Callable[[Any, str], dict[str, Any]]:
            """Calls the verifier with (token, request) directly: Connexion's generic check
            inspects the verifier's signature on every request (6% of the server's time), and
            the verifier never answers None, it raises the contract's 401/403/400."""

            def check(request: Any, token: str) -> dict[str, Any]:
                return token_info_func(token, request)

            return check

    return {
        "bearer": BackendBearerSecurityHandler,
        "apiKey": control_token_handler(domain.settings.control_token),
    }


def control_token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response timing does not reveal a prefix of the token."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def control_token_handler(control_token: str | None) -> type[ApiKeySecurityHandler]:
    """The handler of the mock API's header scheme, for a server with or without a control token."""
    if control_token is not None and not (control_token.isascii() and control_token.isprintable()):
        # It travels in an HTTP header, which carries bytes a client may encode differently.
        raise ValueError("the control token must be printable ASCII: it is sent in an HTTP header")

    class ControlTokenSecurityHandler(ApiKeySecurityHandler):
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Callable[..., Any]:
            header = security_scheme["name"]

            def verify_control_token(request: Any) -> dict[str, Any]:
                # Connexion's own apiKey handler would answer a missing header with its own 401.
                if control_token is not None and not control_token_matches(
                    control_token, request.headers.get(header)
                ):
                    raise errors.ControlTokenRequired()
                return {"sub": "mock-control"}

            return verify_control_token

    return ControlTokenSecurityHandler

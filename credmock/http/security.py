"""How bearer tokens are checked: wired into Connexion at load time, never written in the spec.

The contract names two bearer schemes, ``AnonymousAccessToken`` and ``CustomerAccessToken``.
Connexion hands a security handler only the scheme's definition, not its name, so at load time
:func:`name_security_schemes` writes each scheme's name into the served copy of its definition
(``x-credmock-scheme``); the spec files stay as written, and the docs serve them so.

The mock API's apiKey scheme (``X-Mock-Control-Token``) is checked against the control token
the server was started with: open when there is none, 401 in ``ErrorMessage`` shape otherwise.

The same checks serve Connexion's security middleware and the compiled operations
(:mod:`credmock.http.compiled`): :func:`bearer_verifier` and :func:`control_token_verifier`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from connexion.security import ApiKeySecurityHandler

from credmock.core import exceptions as errors
from credmock.core.models import ANONYMOUS, CUSTOMER
from credmock.domain import Domain
from credmock.http import connexion_compat
from credmock.http.state_calls import StateCalls

CUSTOMER_SCHEME = "CustomerAccessToken"
ANONYMOUS_SCHEME = "AnonymousAccessToken"
# The extension, in the served copy of a security scheme, that names the scheme.
SCHEME_NAME_KEY = "x-credmock-scheme"

BearerVerifier = Callable[[str, str], dict[str, Any]]  # (token, tenant) -> token_info


def name_security_schemes(spec: dict[str, Any]) -> dict[str, Any]:
    """Write each security scheme's name into its definition (in place; ``spec`` is a served copy)."""
    for name, definition in spec.get("components", {}).get("securitySchemes", {}).items():
        definition[SCHEME_NAME_KEY] = name
    return spec


def without_scheme_names(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` as its file is written: a copy without what :func:`name_security_schemes` added."""
    schemes = spec.get("components", {}).get("securitySchemes")
    if not schemes:
        return spec
    unnamed = {
        name: {key: value for key, value in definition.items() if key != SCHEME_NAME_KEY}
        for name, definition in schemes.items()
    }
    return {**spec, "components": {**spec["components"], "securitySchemes": unnamed}}


def scheme_name(definition: dict[str, Any]) -> str:
    name = definition.get(SCHEME_NAME_KEY)
    if not name:
        raise ValueError(f"security scheme without {SCHEME_NAME_KEY}: load the spec through credmock.app")
    return name


def required_token_kind(name: str) -> str:
    """The kind of token bearer scheme ``name`` accepts: an anonymous token for the anonymous
    scheme, a customer token for any other. An operation that accepts both kinds declares both
    schemes (``GET /me``)."""
    return ANONYMOUS if name == ANONYMOUS_SCHEME else CUSTOMER


def bearer_verifier(domain: Domain, name: str) -> BearerVerifier:
    """The check of bearer scheme ``name``, for both engines (Connexion's security handler and
    the compiled operations): a live token of the tenant, of the kind the scheme accepts. It
    never answers None: it raises the contract's 401/403/400."""
    required_kind = required_token_kind(name)

    def verify_bearer_token(token: str, tenant: str) -> dict[str, Any]:
        access_token = domain.authenticate(token, tenant, required_kind=required_kind)
        return {
            "sub": access_token.customer_id or ANONYMOUS_SCHEME,
            "scope": list(access_token.scopes),
            "access_token": access_token,
        }

    return verify_bearer_token


def request_tenant(request: Any) -> str:
    """The tenant a request names: its path's, else its query's (the storefront's anonymous login)."""
    return request.path_params.get("tenant") or request.query_params.get("tenant") or ""


def security_map(domain: Domain, state_calls: StateCalls | None = None) -> dict[str, type]:
    """Connexion's ``security_map``: bearer schemes checked by ``domain`` (through
    ``state_calls`` when its store may block: Connexion awaits a check that is a coroutine), the
    mock API's header by the control token."""
    blocking = state_calls is not None and state_calls.blocking

    class BackendBearerSecurityHandler(connexion_compat.SchemeBearerSecurityHandler):
        def verifier_for(self, security_scheme: dict[str, Any]) -> Callable[[str, Any], dict[str, Any]]:
            verify = bearer_verifier(domain, scheme_name(security_scheme))
            return lambda token, request: verify(token, request_tenant(request))

        def check_bearer_token(
            self, token_info_func: Callable[..., dict[str, Any]]
        ) -> Callable[[Any, str], dict[str, Any]]:
            """Calls the verifier with (token, request) directly: Connexion's generic check
            inspects the verifier's signature on every request, and the verifier never answers
            None."""
            if blocking:
                return lambda request, token: state_calls.run(token_info_func, token, request)  # type: ignore[union-attr]
            return lambda request, token: token_info_func(token, request)

    return {
        "bearer": BackendBearerSecurityHandler,
        "apiKey": control_token_handler(domain.settings.control_token),
    }


def control_token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response timing does not reveal a prefix of the token."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_control_token(control_token: str | None) -> None:
    if control_token is not None and not (control_token.isascii() and control_token.isprintable()):
        # It travels in an HTTP header, which carries bytes a client may encode differently.
        raise ValueError("the control token must be printable ASCII: it is sent in an HTTP header")


def control_token_verifier(control_token: str | None) -> Callable[[str | None], dict[str, Any]]:
    """The check of the mock API's header: given the header's value (None when absent)."""
    check_control_token(control_token)

    def verify_control_token(given: str | None) -> dict[str, Any]:
        # Connexion's own apiKey handler would answer a missing header with its own 401.
        if control_token is not None and not control_token_matches(control_token, given):
            raise errors.ControlTokenRequired()
        return {"sub": "mock-control"}

    return verify_control_token


def control_token_handler(control_token: str | None) -> type[ApiKeySecurityHandler]:
    """The handler of the mock API's header scheme, for a server with or without a control token."""
    verify = control_token_verifier(control_token)

    class ControlTokenSecurityHandler(ApiKeySecurityHandler):
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Callable[..., Any]:
            name = security_scheme["name"]
            if security_scheme.get("in") == "query":  # a page a browser opens: no header to send
                return lambda request: verify(request.query_params.get(name))
            return lambda request: verify(request.headers.get(name))

    return ControlTokenSecurityHandler

"""The one place where errors become responses: the domain's exceptions and Connexion's own
problems (security, validation, routing) all leave in the contract's shapes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from credmock.core import exceptions as errors
from credmock.core.visible_text import visible
from credmock.http.request_notes import note_reason

logger = logging.getLogger("credmock")

# Connexion's problems by status, and the contract error each becomes.
_PROBLEM_ERRORS: dict[int, type[errors.ApiError] | type[errors.AccessTokenError]] = {
    400: errors.ValidationFailed,
    401: errors.InvalidAccessToken,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
}
# Connexion's words for a request without a usable bearer token, and ours for the request log.
_MISSING_TOKEN_REASONS = {
    "No authorization token provided": "no access token: no Authorization header",
    "Invalid authorization header": "no access token: the Authorization header is not 'Bearer <token>'",
}


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type="application/json",
        headers=headers or {},
    )


def error_response(
    error: errors.ApiError | errors.AccessTokenError, headers: dict[str, str] | None = None
) -> ConnexionResponse:
    return json_response(error.status, error.body(), headers)


def from_problem(problem: HTTPException) -> errors.ApiError | errors.AccessTokenError:
    """The contract error for one of Connexion's (or Starlette's) HTTP problems."""
    status = problem.status_code
    detail = getattr(problem, "detail", None)
    if isinstance(detail, str):  # jsonschema details run to many lines; the first one says it
        detail = detail.strip().split("\n", 1)[0]
    if status == 415:
        return errors.BadRequest(
            f"Unsupported content type: {detail or 'send the body as application/json'}."
        )
    error_class = _PROBLEM_ERRORS.get(status)
    if error_class is errors.InvalidAccessToken:
        return errors.InvalidAccessToken(_MISSING_TOKEN_REASONS.get(str(detail), detail or None))
    if error_class is errors.NotFound:  # one answer for every unknown path, whichever router saw it
        return errors.NotFound(reason="no operation at this path")
    if error_class is not None:
        return error_class(detail if isinstance(detail, str) and detail else None)  # type: ignore[call-arg]
    if status >= 500:
        logger.error("server problem %s: %s", status, visible(str(detail)))
        return errors.InternalError()
    generic = errors.ApiError(detail if isinstance(detail, str) else None)
    generic.status = status  # type: ignore[misc]
    return generic


def api_error_handler(declared_statuses: DeclaredStatuses | None = None):
    async def handle_api_error(
        request: ConnexionRequest, error: errors.ApiError | errors.AccessTokenError
    ) -> ConnexionResponse:
        if declared_statuses is not None:
            error = fitted(error, declared_statuses.of(request.method, request.url.path))
        note_reason(request.scope, error.reason)
        return error_response(error)

    return handle_api_error


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# An error whose status the operation does not declare is answered with the declared status
# that says the same to a client, in this order: a token refused (403) or a tenant the token
# does not fit (400) is an unusable token (401); a stale version (409) is a bad request (400).
_FITTING_STATUSES: dict[int, tuple[int, ...]] = {403: (401,), 400: (401,), 409: (400,)}


def _path_patterns(spec: Mapping[str, Any]) -> Iterator[tuple[re.Pattern[str], Mapping[str, Any]]]:
    """Each path of a served document as the pattern of the URLs it matches, with its path item."""
    servers = spec.get("servers") or [{"url": "/"}]
    base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
    for template, path_item in spec.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(base_path + template))
        yield re.compile(f"{pattern}/?"), path_item


class DeclaredStatuses:
    """The statuses each operation of the served documents declares, so that an error is
    answered with a status its operation declares (a client generated from the contract has a
    branch for no other): see :func:`fitted`."""

    def __init__(self) -> None:
        self._paths: list[tuple[re.Pattern[str], dict[str, frozenset[int]]]] = []

    def add_spec(self, spec: Mapping[str, Any]) -> None:
        for pattern, path_item in _path_patterns(spec):
            statuses = {
                method.upper(): frozenset(
                    int(status) for status in operation.get("responses", {}) if str(status).isdigit()
                )
                for method, operation in path_item.items()
                if method in _HTTP_METHODS and isinstance(operation, Mapping)
            }
            self._paths.append((pattern, statuses))

    def of(self, method: str, path: str) -> frozenset[int] | None:
        """The statuses the operation at ``method`` ``path`` declares (a HEAD, its GET's); None
        for no operation."""
        method = "GET" if method.upper() == "HEAD" else method.upper()
        for pattern, statuses in self._paths:
            if method in statuses and pattern.fullmatch(path):
                return statuses[method]
        return None


def fitted(
    error: errors.ApiError | errors.AccessTokenError, declared: frozenset[int] | None
) -> errors.ApiError | errors.AccessTokenError:
    """``error``, or the error of the declared status that fits it when its operation does not
    declare its own (a customer token on login: 401, login declares no 403). An operation that
    declares no fitting status answers ``error`` as it is (the anonymous token's endpoints
    declare no error at all)."""
    if declared is None or error.status in declared:
        return error
    for status in _FITTING_STATUSES.get(error.status, ()):
        if status not in declared:
            continue
        reason = f"{error.reason} (answered {status}: the operation declares no {error.status})"
        if status == 401:
            return errors.InvalidAccessToken(reason)
        assert isinstance(error, errors.ApiError)  # 401 is the only status of AccessTokenError
        refitted = errors.ApiError(error.message, error.details, reason=reason)
        refitted.status = status  # type: ignore[misc]
        refitted.error_type = error.error_type  # type: ignore[misc]
        return refitted
    return error


async def handle_service_unavailable(
    request: ConnexionRequest, error: errors.ServiceUnavailable
) -> ConnexionResponse:
    """503 with ``Retry-After``, and one log line with the reason (no traceback: the reason is
    all there is to it, and a store that is down would fill the log with them)."""
    logger.warning("503 on %s %s: %s", request.method, request.url.path, error.reason)
    note_reason(request.scope, error.reason)
    return error_response(error, {"Retry-After": str(error.retry_after)})


class AllowedMethods:
    """The methods each path of the served documents declares, for the ``Allow`` header of a 405.

    Connexion routes every operation on its own, so the 405 Starlette raises lists the methods of
    the first operation on the path only; RFC 9110 wants all the methods of the resource.
    """

    def __init__(self) -> None:
        self._paths: list[tuple[re.Pattern[str], str]] = []

    def add_spec(self, spec: Mapping[str, Any]) -> None:
        for pattern, path_item in _path_patterns(spec):
            methods = [method.upper() for method in path_item if method in _HTTP_METHODS]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")  # Starlette answers HEAD wherever GET is routed
            self._paths.append((pattern, ", ".join(methods)))

    def header_for(self, path: str) -> str | None:
        return next((methods for pattern, methods in self._paths if pattern.fullmatch(path)), None)


def problem_handler(
    allowed_methods: AllowedMethods | None = None, declared_statuses: DeclaredStatuses | None = None
):
    async def handle_http_problem(request: ConnexionRequest, problem: HTTPException) -> ConnexionResponse:
        # Keep the problem's protocol headers (a 405's ``Allow``), not its body's type.
        headers = {
            name: value
            for name, value in (getattr(problem, "headers", None) or {}).items()
            if name.lower() not in {"content-type", "content-length"}
        }
        if problem.status_code == 405 and allowed_methods is not None:
            allow = allowed_methods.header_for(request.url.path)
            if allow:
                headers = {name: value for name, value in headers.items() if name.lower() != "allow"}
                headers["Allow"] = allow
        error = from_problem(problem)
        if declared_statuses is not None:
            error = fitted(error, declared_statuses.of(request.method, request.url.path))
        note_reason(request.scope, error.reason)
        return error_response(error, headers)

    return handle_http_problem


async def handle_unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    logger.exception(
        "unhandled error on %s %s", visible(request.method), visible(request.url.path), exc_info=error
    )
    note_reason(request.scope, f"unhandled {type(error).__name__} (the traceback is logged)")
    return error_response(errors.InternalError())


def install(
    app,  # connexion.FlaskApp or AsyncApp
    allowed_methods: AllowedMethods | None = None,
    declared_statuses: DeclaredStatuses | None = None,
) -> None:
    handle_api_error = api_error_handler(declared_statuses)
    app.add_error_handler(errors.ServiceUnavailable, handle_service_unavailable)
    app.add_error_handler(errors.ApiError, handle_api_error)
    app.add_error_handler(errors.AccessTokenError, handle_api_error)
    handle_http_problem = problem_handler(allowed_methods, declared_statuses)
    app.add_error_handler(ProblemException, handle_http_problem)
    app.add_error_handler(HTTPException, handle_http_problem)
    app.add_error_handler(Exception, handle_unexpected)

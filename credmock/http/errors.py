"""The one place where errors become responses: the domain's exceptions and Connexion's own
problems (security, validation, routing) all leave in the contract's shapes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from credmock.core import exceptions as errors
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
        logger.error("server problem %s: %s", status, detail)
        return errors.InternalError()
    generic = errors.ApiError(detail if isinstance(detail, str) else None)
    generic.status = status  # type: ignore[misc]
    return generic


async def handle_api_error(
    request: ConnexionRequest, error: errors.ApiError | errors.AccessTokenError
) -> ConnexionResponse:
    note_reason(request.scope, error.reason)
    return error_response(error)


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

    _HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

    def __init__(self) -> None:
        self._paths: list[tuple[re.Pattern[str], str]] = []

    def add_spec(self, spec: Mapping[str, Any]) -> None:
        servers = spec.get("servers") or [{"url": "/"}]
        base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
        for template, path_item in spec.get("paths", {}).items():
            methods = [method.upper() for method in path_item if method in self._HTTP_METHODS]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")  # Starlette answers HEAD wherever GET is routed
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(base_path + template))
            self._paths.append((re.compile(f"^{pattern}/?$"), ", ".join(methods)))

    def header_for(self, path: str) -> str | None:
        return next((methods for pattern, methods in self._paths if pattern.match(path)), None)


def problem_handler(allowed_methods: AllowedMethods | None = None):
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
        note_reason(request.scope, error.reason)
        return error_response(error, headers)

    return handle_http_problem


async def handle_unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    note_reason(request.scope, f"unhandled {type(error).__name__} (the traceback is logged)")
    return error_response(errors.InternalError())


def install(app, allowed_methods: AllowedMethods | None = None) -> None:  # app: connexion.FlaskApp
    app.add_error_handler(errors.ServiceUnavailable, handle_service_unavailable)
    app.add_error_handler(errors.ApiError, handle_api_error)
    app.add_error_handler(errors.AccessTokenError, handle_api_error)
    handle_http_problem = problem_handler(allowed_methods)
    app.add_error_handler(ProblemException, handle_http_problem)
    app.add_error_handler(HTTPException, handle_http_problem)
    app.add_error_handler(Exception, handle_unexpected)

"""The one place where errors become responses: the domain's exceptions and Connexion's own
problems (security, validation, routing) all leave in the contract's shapes."""

from __future__ import annotations

import json
import logging

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from credmock import exceptions as errors

logger = logging.getLogger("credmock")

# Connexion's problems by status, and the contract error each becomes.
_PROBLEM_ERRORS: dict[int, type[errors.ApiError] | type[errors.AccessTokenError]] = {
    400: errors.ValidationFailed,
    401: errors.InvalidAccessToken,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
}


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type="application/json",
        headers=headers or {},
    )


def error_response(error: errors.ApiError | errors.AccessTokenError) -> ConnexionResponse:
    return json_response(error.status, error.body())


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
        return errors.InvalidAccessToken()
    if error_class is not None:
        return error_class(detail if isinstance(detail, str) and detail else None)  # type: ignore[call-arg]
    if status >= 500:
        logger.error("server problem %s: %s", status, detail)
        return errors.InternalError()
    generic = errors.ApiError(detail if isinstance(detail, str) else None)
    generic.status = status  # type: ignore[misc]
    return generic


async def handle_api_error(
    _request: ConnexionRequest, error: errors.ApiError | errors.AccessTokenError
) -> ConnexionResponse:
    return error_response(error)


async def handle_http_problem(_request: ConnexionRequest, problem: HTTPException) -> ConnexionResponse:
    return error_response(from_problem(problem))


async def handle_unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(errors.InternalError())


def install(app) -> None:  # app: connexion.FlaskApp or AsyncApp
    app.add_error_handler(errors.ApiError, handle_api_error)
    app.add_error_handler(errors.AccessTokenError, handle_api_error)
    app.add_error_handler(ProblemException, handle_http_problem)
    app.add_error_handler(HTTPException, handle_http_problem)
    app.add_error_handler(Exception, handle_unexpected)

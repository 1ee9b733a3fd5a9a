"""Checking HTTP exchanges against an OpenAPI document, with openapi-core.

Used by the test suite (every response the tests see is checked), and by the tools that check a
real deployment. A check returns the list of violations, each one line; empty means conforming.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import ParameterValidationError, SecurityValidationError
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.datastructures import Headers, ImmutableMultiDict


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    content_type: str
    body: bytes | None
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


def _describe(error: Exception) -> str:
    """One line: what is wrong, in the contract's terms (status, content type, schema errors)."""
    subject = "body"
    if isinstance(error, ParameterValidationError):
        subject = f"{error.location} parameter {error.name}"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ResponseNotFound):
            declared = ", ".join(sorted(cause.availableresponses))
            return f"status {cause.http_status} is not declared for this operation (declared: {declared})"
        if isinstance(cause, MediaTypeNotFound):
            declared = ", ".join(cause.availableMimetypes)
            return f"content type {cause.mimetype or '(none)'!r} is not declared (declared: {declared})"
        if isinstance(cause, MediaTypeDeserializeError):
            return f"the {subject} is not valid {cause.mimetype}: {cause.value[:80]!r}"
        if isinstance(cause, MissingData):
            return "the body is empty, the contract declares one"
        if isinstance(cause, SecurityValidationError):
            return "no credentials the operation's security schemes accept (a bearer token is required)"
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            return f"{subject} does not match the schema: " + "; ".join(
                f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in schema_errors
            )
        cause = cause.__cause__
    return str(error)


def _request(method: str, url: str, headers: dict[str, str] | Headers, body: bytes | None) -> _Request:
    parts = urlsplit(url)
    headers = Headers(list(dict(headers).items()))
    return _Request(
        host_url=f"{parts.scheme or 'http'}://{parts.netloc or 'host'}",
        path=parts.path,
        method=method.lower(),
        content_type=headers.get("content-type", ""),
        body=body,
        parameters=RequestParameters(
            query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)), header=headers
        ),
    )


class ContractChecker:
    """Checks requests and responses against one OpenAPI document, whatever host served them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        spec = copy.deepcopy(spec)
        # Match paths on any host: keep only the path of each server URL.
        servers = spec.get("servers") or [{"url": "/"}]
        spec["servers"] = [{"url": urlsplit(server["url"]).path or "/"} for server in servers]
        self.openapi = OpenAPI.from_dict(spec)

    def describes(self, method: str, url: str) -> bool:
        """Whether the document has an operation for this method and URL."""
        try:
            self.openapi.response_validator.path_finder.find(
                method.lower(), "http://host" + urlsplit(url).path
            )
        except OpenAPIError:
            return False
        return True

    def check_request(
        self, *, method: str, url: str, headers: dict[str, str] | Headers, body: bytes | None
    ) -> list[str]:
        """Violations of the request: parameters, security (a credential is present), body."""
        result = self.openapi.unmarshal_request(_request(method, url, headers, body))
        return [_describe(error) for error in result.errors]

    def check_response(
        self,
        *,
        method: str,
        url: str,
        request_headers: dict[str, str] | Headers,
        request_body: bytes | None,
        status: int,
        response_headers: dict[str, str] | Headers,
        response_body: bytes | None,
    ) -> list[str]:
        """Violations of the response: status declared, content type, body schema."""
        request = _request(method, url, request_headers, request_body)
        response_headers = Headers(list(dict(response_headers).items()))
        response = _Response(
            status_code=status,
            content_type=response_headers.get("content-type", "") if response_body else "",
            headers=response_headers,
            data=response_body or None,
        )
        result = self.openapi.unmarshal_response(request, response)
        violations = [_describe(error) for error in result.errors]
        if not violations and response_body and not self._declares_content(method, url, status):
            violations.append(f"status {status} declares no body, the response has {len(response_body)} B")
        return violations

    def _declares_content(self, method: str, url: str, status: int) -> bool:
        """Whether the operation's response for ``status`` has a body (an undeclared status: True,
        as openapi-core reports that one already)."""
        operation = self.openapi.response_validator.path_finder.find(
            method.lower(), "http://host" + urlsplit(url).path
        ).operation
        responses = operation / "responses"
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return "content" in responses / key
        return True

    def check_httpx(self, response: httpx.Response) -> list[str]:
        request = response.request
        return self.check_response(
            method=request.method,
            url=str(request.url),
            request_headers=dict(request.headers),
            request_body=request.content or None,
            status=response.status_code,
            response_headers=dict(response.headers),
            response_body=response.content,
        )

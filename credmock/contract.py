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
from openapi_core.exceptions import OpenAPIError
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
    """One line: the error, and the schema errors beneath it when there are any."""
    cause: BaseException | None = error
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            return "body does not match the schema: " + "; ".join(
                f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in schema_errors
            )
        cause = cause.__cause__
    return str(error)


class ContractChecker:
    """Checks responses against one OpenAPI document, whatever host served them."""

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
        parts = urlsplit(url)
        request_headers = Headers(list(dict(request_headers).items()))
        response_headers = Headers(list(dict(response_headers).items()))
        request = _Request(
            host_url=f"{parts.scheme or 'http'}://{parts.netloc or 'host'}",
            path=parts.path,
            method=method.lower(),
            content_type=request_headers.get("content-type", ""),
            body=request_body,
            parameters=RequestParameters(
                query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
                header=request_headers,
            ),
        )
        response = _Response(
            status_code=status,
            content_type=response_headers.get("content-type", "") if response_body else "",
            headers=response_headers,
            data=response_body or None,
        )
        result = self.openapi.unmarshal_response(request, response)
        return [_describe(error) for error in result.errors]

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

"""What a handler may read of its request beyond its parameters: a header Connexion does not
pass to handlers, and the URL the mock is reached at. Both engines set ``connexion.request``
for the operations Connexion's middleware serves (those with query or header parameters are
never compiled, see :mod:`credmock.http.compiled`); outside a request both answer None."""

from __future__ import annotations

from connexion import request


def request_header(name: str) -> str | None:
    """The request's header ``name``; None when absent or outside a request."""
    try:
        return request.headers.get(name)
    except RuntimeError:  # no request in context
        return None


def request_query_parameter(name: str) -> str | None:
    """The request's query parameter ``name`` (one Connexion does not pass, such as a security
    scheme's); None when absent or outside a request."""
    try:
        return request.query_params.get(name)
    except RuntimeError:
        return None


def external_base_url() -> str | None:
    """``scheme://host[:port]`` as the client reached the mock (its Host header); None outside a
    request."""
    try:
        url = request.url
    except RuntimeError:
        return None
    return f"{url.scheme}://{url.netloc}"

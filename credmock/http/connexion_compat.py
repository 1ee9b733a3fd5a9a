"""Every use credmock makes of Connexion's private members, in one place.

Connexion 3 has no public hook for some of what credmock needs (building an operation's
decorators once, naming the function a bearer scheme is checked with, parsing a request body
without replaying it). Each such use is made here and listed in :data:`PRIVATE_MEMBERS`;
``tests/test_connexion_compat.py`` checks every entry by name, so an upgrade that removes one
fails there, not somewhere under load. ``pyproject.toml`` pins Connexion's minor version.

One use is uvicorn's, not Connexion's: ASGI has no way to reset a connection, and only uvicorn's
request cycle, the object the server's ``send`` is bound to, holds the connection's transport
(its ``transport`` attribute), for an injected ``connection-reset`` fault.
"""

from __future__ import annotations

import functools
import socket
import struct
import typing as t
from collections.abc import Callable
from dataclasses import dataclass

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.response import BaseResponseDecorator
from connexion.middleware.swagger_ui import SwaggerUIAPI
from connexion.security import BearerSecurityHandler, SecurityHandlerFactory
from connexion.validators import AbstractRequestBodyValidator, JSONRequestBodyValidator
from starlette.types import Scope, Send


@dataclass(frozen=True)
class PrivateMember:
    """A private member of a Connexion class that credmock reads, calls or overrides."""

    owner: type
    name: str
    use: str
    instance_attribute: bool = False  # set in __init__, not a class attribute

    @property
    def label(self) -> str:
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"


PRIVATE_MEMBERS: tuple[PrivateMember, ...] = (
    PrivateMember(AsyncApp, "_middleware_app", "the ASGI app that builds each operation once", True),
    PrivateMember(AsyncOperation, "_fn", "the handler an AsyncOperation decorates", True),
    PrivateMember(BearerSecurityHandler, "_resolve_func", "the verifier of a bearer scheme, by its name"),
    PrivateMember(
        AbstractRequestBodyValidator, "_parse", "a request body parsed once, without replaying it"
    ),
    PrivateMember(AbstractRequestBodyValidator, "_validate", "a parsed request body checked"),
    PrivateMember(
        AbstractRequestBodyValidator, "_insert_messages", "a decoded body replayed to the handler"
    ),
    PrivateMember(JSONRequestBodyValidator, "_validator", "the body's schema validator, built once"),
    PrivateMember(AbstractRequestBodyValidator, "_schema", "the body schema a validator checks", True),
    PrivateMember(AbstractRequestBodyValidator, "_encoding", "the charset a body is decoded with", True),
    PrivateMember(
        SecurityHandlerFactory, "_raise_most_specific", "the error of the failed security alternatives"
    ),
    PrivateMember(BaseResponseDecorator, "_unpack_handler_response", "a handler's (body, status, headers)"),
    PrivateMember(SwaggerUIAPI, "_spec_for_prefix", "the spec the docs serve, as the file is written"),
    PrivateMember(SwaggerUIAPI, "_base_path_for_prefix", "the mock's own URL in the served spec"),
)


# Operations decorated once -----------------------------------------------------------------


class _DecorateOnce(StarletteDecorator):
    """Connexion 3.3 rebuilds an operation's decorators (and inspects the handler's signature)
    on every request; the operation never changes, so this builds them on the first one."""

    def __call__(self, function: Callable[..., t.Any]) -> Callable[..., t.Any]:
        prepared: tuple[t.Any, Callable[..., t.Any]] | None = None

        @functools.wraps(function)
        async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            nonlocal prepared
            if prepared is None:  # needs the request's operation context, hence not earlier
                prepared = (self.uri_parser, self.decorate(function))
            uri_parser, decorated = prepared
            request = self.framework.get_request(uri_parser=uri_parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class _OnceDecoratedOperation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> Callable[..., t.Any]:  # type: ignore[override]
        return _DecorateOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class _OnceDecoratedApi(AsyncApi):
    def make_operation(self, operation: t.Any) -> AsyncOperation:
        return _OnceDecoratedOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _OnceDecoratedASGIApp(AsyncASGIApp):
    api_cls = _OnceDecoratedApi


def decorate_operations_once(app: AsyncApp) -> None:
    """Make ``app`` (before any API is added) build each operation's decorators once."""
    app._middleware_app = _OnceDecoratedASGIApp()
    app.middleware.app = app._middleware_app


# Bearer schemes ----------------------------------------------------------------------------


class SchemeBearerSecurityHandler(BearerSecurityHandler):
    """Connexion's bearer handler, asking :meth:`verifier_for` for each scheme's check (Connexion
    would look up a function named in the spec, ``x-bearerInfoFunc``)."""

    def verifier_for(self, security_scheme: dict[str, t.Any]) -> Callable[[str, t.Any], dict[str, t.Any]]:
        """(token, request) -> token_info, for the scheme defined as ``security_scheme``."""
        raise NotImplementedError

    def _resolve_func(self, security_scheme: dict[str, t.Any]) -> Callable[..., dict[str, t.Any]]:
        return self.verifier_for(security_scheme)


# Request bodies ----------------------------------------------------------------------------


async def parse_body(
    validator: AbstractRequestBodyValidator, stream: t.AsyncGenerator[bytes, None], request_scope: Scope
) -> t.Any:
    """The body ``stream`` carries, parsed by ``validator`` (its checks on the bytes included)."""
    return await validator._parse(stream, scope=request_scope)


def validate_body(validator: AbstractRequestBodyValidator, body: t.Any) -> None:
    """Raise the validator's error when ``body`` breaks the operation's schema."""
    validator._validate(body)


# Security ----------------------------------------------------------------------------------


def raise_most_specific(errors: list[Exception]) -> t.NoReturn:
    """Raise the error Connexion raises when every security alternative failed (403 over 401)."""
    SecurityHandlerFactory._raise_most_specific(errors)
    raise errors[0]  # not reached: Connexion raises one of them


# Responses ---------------------------------------------------------------------------------


def unpack_handler_response(handler_response: t.Any) -> tuple[t.Any, int | None, dict[str, str]]:
    """A handler's answer as Connexion reads it: (data, status or None, headers)."""
    return BaseResponseDecorator._unpack_handler_response(handler_response)


# Connections reset (uvicorn) ---------------------------------------------------------------

SERVER_SEND_KEY = "credmock.server_send"


def keep_server_send(request_scope: Scope, send: Send) -> None:
    """Remember the server's ``send`` of this request, before any middleware wraps it."""
    request_scope[SERVER_SEND_KEY] = send


def server_transport(send: Send) -> t.Any:
    """The asyncio transport of uvicorn's request cycle ``send`` is bound to, or None."""
    return getattr(getattr(send, "__self__", None), "transport", None)


def reset_connection(request_scope: Scope) -> bool:
    """Close the request's connection with a TCP reset (SO_LINGER 0, then abort), as a crashed
    upstream or a dropped load balancer does. False when no server connection is at hand (an
    in-process test client)."""
    send = request_scope.get(SERVER_SEND_KEY)
    transport = server_transport(send) if send is not None else None
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True

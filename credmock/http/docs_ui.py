"""Swagger UI for each API the app serves, with the spec served as the file is written.

Connexion's Swagger UI middleware serves each API at ``<base path>/ui/`` with its spec at
``<base path>/openapi.json``, but it serves the spec with every ``$ref`` inlined, and it cannot
serve two APIs that share a base path (the first one hides the second). This module's
middleware replaces it in the app's stack (so ``MiddlewarePosition.BEFORE_SWAGGER`` is not
available) and fixes both:

- ``openapi.json``/``openapi.yaml`` are the spec file itself (``$ref``s and components kept),
  except that ``servers`` starts with this mock, so "Try it out" calls the mock; the spec's
  own servers follow (for the contract: the real service).
- The first API at a base path gets ``<base>/ui/``; a further one at the same base path gets
  ``<base>/<spec file stem>/ui/`` (see :meth:`DocsPaths.allocate`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from starlette.requests import Request
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from credmock.http.security import without_scheme_names

MOCK_SERVER_DESCRIPTION = "this credmock"


@dataclass(frozen=True)
class DocsEntry:
    """Where one API's docs are served, as paths relative to the mock's root URL."""

    title: str
    ui_path: str
    spec_path: str
    options: SwaggerUIOptions = field(compare=False, repr=False)


def spec_base_path(spec: dict[str, Any]) -> str:
    """The base path Connexion serves a spec at: the path of its first server URL, no trailing /."""
    servers = spec.get("servers") or [{"url": ""}]
    return urlsplit(servers[0].get("url", "")).path.rstrip("/")


class DocsPaths:
    """Hands out non-clashing docs paths, one API after the other."""

    def __init__(self) -> None:
        self.entries: list[DocsEntry] = []

    def allocate(self, spec_name: str, spec: dict[str, Any]) -> DocsEntry:
        base = spec_base_path(spec)
        taken = any(entry.ui_path == f"{base}/ui/" for entry in self.entries)
        prefix = f"/{PurePosixPath(spec_name).stem}" if taken else ""
        options = SwaggerUIOptions(swagger_ui_path=f"{prefix}/ui", spec_path=f"{prefix}/openapi.json")
        entry = DocsEntry(
            title=spec.get("info", {}).get("title", spec_name),
            ui_path=f"{base}{prefix}/ui/",
            spec_path=f"{base}{prefix}/openapi.json",
            options=options,
        )
        self.entries.append(entry)
        return entry


class FileSpecSwaggerUIAPI(SwaggerUIAPI):
    def _spec_for_prefix(self, request: Request) -> dict[str, Any]:
        """The spec as written, with this mock as the first server."""
        spec = without_scheme_names(copy.deepcopy(self.specification.raw))  # the file as written
        root_url = f"{request.url.scheme}://{request.url.netloc}"
        mock_url = root_url + self._base_path_for_prefix(request)
        own_servers = [
            server
            for server in spec.get("servers", [])
            if urljoin(root_url, server.get("url", "")).rstrip("/") != mock_url
        ]
        spec["servers"] = [{"url": mock_url, "description": MOCK_SERVER_DESCRIPTION}, *own_servers]
        return spec


class DocsUIMiddleware(SwaggerUIMiddleware):
    """Connexion's Swagger UI middleware, serving file specs; APIs sharing a base path chain."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._last_router_at: dict[str, Router] = {}
        self._markers: set[str] = set()  # every docs path holds one of these

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A path no docs route can match goes straight on, as the router's default would send
        it: matching it against every docs route of every API took 6% of a request's time."""
        if scope["type"] == "http" and not any(marker in scope["path"] for marker in self._markers):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def add_api(self, specification: Any, base_path: str | None = None, arguments: Any = None, **kwargs: Any):
        api = FileSpecSwaggerUIAPI(
            specification, base_path=base_path, arguments=arguments, default=self.default_fn, **kwargs
        )
        options = kwargs.get("swagger_ui_options") or SwaggerUIOptions()
        self._markers.add(options.swagger_ui_path.rstrip("/"))
        for spec_path in [options.spec_path] if options.spec_path else ["/openapi.json", "/swagger.json"]:
            self._markers.add(spec_path.rsplit(".", 1)[0])  # its .json and its .yaml
        previous = self._last_router_at.get(api.base_path)
        if previous is None:
            self.router.mount(api.base_path, app=api.router)
        else:  # the same base path: the earlier API's router hands what it does not serve on
            previous.default = api.router
        self._last_router_at[api.base_path] = api.router


def middlewares() -> list[Any]:
    """Connexion's default middleware stack with :class:`DocsUIMiddleware` in Swagger UI's place."""
    return [
        DocsUIMiddleware if middleware is SwaggerUIMiddleware else middleware
        for middleware in ConnexionMiddleware.default_middlewares
    ]

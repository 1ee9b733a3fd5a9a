"""The app factory: one Connexion app per call, owning one domain and its state.

Wiring happens here, at load time, so the spec files stay pure contracts: operationIds are
mapped to handler functions bound to this app's domain, bearer schemes to the domain's token
check, request bodies to a validator that answers in the contract's error shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import connexion
import yaml
from connexion.exceptions import ResolverError
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver

from credmock.core import exceptions as errors
from credmock.core.token_source import TokenSource
from credmock.domain import Domain
from credmock.handlers import credentials, idp, mock_api, signup_optin, social, storefront
from credmock.http import connexion_compat, cors
from credmock.http import errors as http_errors
from credmock.http.browser_login import BrowserLoginMiddleware
from credmock.http.compiled import CompiledOperations, CompiledOperationsMiddleware, RouteAheadMiddleware
from credmock.http.docs_ui import DocsEntry, DocsPaths, middlewares
from credmock.http.empty_answers import EmptyAnswerMiddleware
from credmock.http.request_drain import serve_draining
from credmock.http.request_head import RequestHeadMiddleware
from credmock.http.security import name_security_schemes, security_map
from credmock.http.state_calls import StateCalls
from credmock.http.validation import validator_map
from credmock.mail.outbox import Outbox
from credmock.observe.coverage import Coverage, declared_operations
from credmock.observe.inspection import Inspection
from credmock.settings import Settings
from credmock.store import Store, is_shared, open_store

CONTRACT_SPEC = "openapi.yaml"
MOCK_API_SPEC = "mock-api.yaml"
STOREFRONT_SPEC = "storefront.yaml"
IDP_SPEC = "idp.yaml"
# Spec files served inside another file's API. Connexion 3 mounts each API at its base path, and
# a second API at the same base path shadows the APIs mounted after it (/_mock stops answering),
# so the storefront endpoints, at the contract's base path, join the contract's API at load time.
# The mock's pages a person opens in a browser, guarded by the control token when there is one.
BROWSER_PAGES = {"/_mock/inbox": "credmock inbox"}
MOUNTED_SPECS: dict[str, tuple[str, ...]] = {CONTRACT_SPEC: (STOREFRONT_SPEC,), MOCK_API_SPEC: (IDP_SPEC,)}


# libyaml's parser when PyYAML has it: the pure-Python one took a third of the cold start.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec(name: str) -> dict[str, Any]:
    """A spec file of ``spec/`` as a dict (a fresh copy: wiring never changes the file)."""
    text = resources.files("credmock.spec").joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python


def load_served_spec(name: str) -> dict[str, Any]:
    """The document the API of spec file ``name`` serves: the file, plus the files mounted into it."""
    spec = load_spec(name)
    for mounted in MOUNTED_SPECS.get(name, ()):
        mount_spec(spec, load_spec(mounted), mounted)
    return spec


def mount_spec(spec: dict[str, Any], extra: dict[str, Any], extra_name: str) -> None:
    """Add the paths, tags and components of ``extra`` to ``spec``. Different servers, a path in
    both, or a component name defined differently in both is an error naming ``extra_name``."""
    if extra.get("servers") != spec.get("servers"):
        raise ValueError(f"{extra_name}: its servers differ from those of the API it is mounted into")
    paths = spec.setdefault("paths", {})
    for path, item in extra.get("paths", {}).items():
        if path in paths:
            raise ValueError(f"{extra_name}: path {path} is already served by the API it is mounted into")
        paths[path] = item
    tags = spec.setdefault("tags", [])
    known_tags = {tag["name"] for tag in tags}
    tags.extend(tag for tag in extra.get("tags", []) if tag["name"] not in known_tags)
    components = spec.setdefault("components", {})
    for section, entries in extra.get("components", {}).items():
        merged = components.setdefault(section, {})
        for component, definition in entries.items():
            if merged.setdefault(component, definition) != definition:
                raise ValueError(f"{extra_name}: components/{section}/{component} is defined differently")


class OperationResolver(Resolver):
    """operationId -> handler, from an explicit table; each handler gets the domain first.

    With ``inline`` (the async engine) the handler is wrapped as a coroutine function, so the
    engine does not hand it to its own thread pool: one that needs no state, or runs over a store
    that never blocks (memory), runs on the event loop, where it answers in microseconds; one
    that may call a blocking store (SQLite, Redis) runs through ``state_calls``, whose store calls
    never make the event loop wait.
    """

    def __init__(
        self,
        operations: Mapping[str, Callable[..., Any]],
        domain: Domain,
        *,
        inline: bool = False,
        state_calls: StateCalls | None = None,
        without_state: frozenset[str] = frozenset(),
    ):
        super().__init__()
        self.operations = operations
        self.domain = domain
        self.inline = inline
        self.state_calls = state_calls
        self.without_state = without_state

    def state_calls_for(self, operation_id: str) -> StateCalls | None:
        """Where the operation's store calls run; None when on the event loop (it needs no
        state, or the store never blocks)."""
        if operation_id in self.without_state or self.state_calls is None or not self.state_calls.blocking:
            return None
        return self.state_calls

    def compiled_handler(self, operation_id: str) -> Callable[..., Any]:
        """The handler of ``operation_id`` bound to the domain, as a plain function."""
        handler = self.operations.get(operation_id)
        if handler is None:
            raise ResolverError(f"no handler for operationId {operation_id!r}")
        bound = functools.partial(handler, self.domain)
        bound.__name__ = handler.__name__  # type: ignore[attr-defined]
        bound.__doc__ = handler.__doc__
        return bound

    def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
        bound = self.compiled_handler(operation_id)
        if not self.inline:
            return bound
        state_calls = self.state_calls_for(operation_id)
        if state_calls is None:

            @functools.wraps(bound)  # __wrapped__: Connexion reads the parameters of ``bound``
            async def run_on_event_loop(*args: Any, **kwargs: Any) -> Any:
                return bound(*args, **kwargs)

            return run_on_event_loop

        @functools.wraps(bound)
        async def run_with_state_calls(*args: Any, **kwargs: Any) -> Any:
            return await state_calls.run(bound, *args, **kwargs)

        return run_with_state_calls


class CredmockApp:
    """A Connexion app with its :class:`Domain` at hand, for tests and the CLI.

    :func:`create_app` builds one of two engines (``Settings.engine``) with the same wiring:
    :class:`CredmockFlaskApp` or :class:`CredmockAsyncApp`.
    """

    domain: Domain
    outbox: Outbox  # the emails sent (the domain only sends them)
    settings: Settings
    inspection: Inspection  # request journal and faults
    docs: list[DocsEntry]  # the Swagger UI of each API, in the order added
    state_calls: StateCalls  # how a rule calls a store that may block

    @property
    def backend(self) -> Domain:
        """The domain, by the name the pytest plugin has documented."""
        return self.domain

    def reset(self, *, keep_coverage: bool = False) -> None:
        """Back to the fixtures, as ``POST /_mock/reset``; with ``keep_coverage`` the API coverage
        counted so far stays (the pytest plugin resets before each test, and reports the session)."""
        self.domain.reset_state()
        self.inspection.reset(keep_coverage=keep_coverage)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await super().__call__(scope, self._flushing_at_shutdown(receive), send)  # type: ignore[misc]
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        connexion_compat.keep_server_send(scope, send)  # an injected fault may reset the connection
        await serve_draining(super().__call__, scope, receive, send)  # type: ignore[misc]

    def _flushing_at_shutdown(self, receive: Any) -> Any:
        """``receive`` of the lifespan: at shutdown, the API coverage counted is written first."""

        async def receive_lifespan() -> Any:
            message = await receive()
            if message.get("type") == "lifespan.shutdown" and self.inspection.coverage is not None:
                self.inspection.coverage.flush()
            return message

        return receive_lifespan


class CredmockFlaskApp(CredmockApp, connexion.FlaskApp):
    """The Flask engine: each request crosses to a WSGI thread pool (a2wsgi) and back."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self.app.before_request(_reject_unrouted_request)


def _reject_unrouted_request() -> None:
    """404 for a request Connexion could not route but Flask's own router matched (Werkzeug merges
    doubled slashes, Starlette does not): the view would otherwise run without Connexion's context."""
    try:
        connexion.context.operation.operation_id  # noqa: B018 (unbound outside a routed request)
    except RuntimeError:
        raise errors.NotFound() from None


class CredmockAsyncApp(CredmockApp, connexion.AsyncApp):
    """The async engine: Connexion's own ASGI app, handlers run on the event loop."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        connexion_compat.decorate_operations_once(self)


ENGINES: dict[str, type[CredmockAsyncApp] | type[CredmockFlaskApp]] = {
    "async": CredmockAsyncApp,
    "flask": CredmockFlaskApp,
}


def build_domain(
    settings: Settings,
    *,
    store: Store | None = None,
    token_source: TokenSource | None = None,
    outbox: Outbox | None = None,
) -> Domain:
    """The domain of ``settings`` over its store, with the outbox its emails go to: the parts
    given, the others built from ``settings`` (ValueError for a setting that cannot be used)."""
    store = store or open_store(settings.state, timeout=settings.store_timeout)
    token_source = token_source or TokenSource(settings.seed)
    outbox = outbox or Outbox.for_settings(settings, store, token_source)
    return Domain(settings, store=store, token_source=token_source, outbox=outbox)


def create_app(settings: Settings | None = None, *, compile_operations: bool = True) -> CredmockApp:
    """The app of ``settings``. The async engine answers the operations it can compile from
    objects built once (:mod:`credmock.http.compiled`); ``compile_operations=False`` leaves every
    request to Connexion's middleware, for comparing the two."""
    settings = settings or Settings()
    store = open_store(settings.state, timeout=settings.store_timeout)
    token_source = TokenSource(settings.seed)
    outbox = Outbox.for_settings(settings, store, token_source)
    domain = build_domain(settings, store=store, token_source=token_source, outbox=outbox)
    engine = ENGINES.get(settings.engine)
    if engine is None:
        raise ValueError(f"unknown engine {settings.engine!r}: choose one of {', '.join(ENGINES)}")
    app = engine(__name__, validator_map=validator_map(settings.max_body_bytes), middlewares=middlewares())
    app.settings = settings
    app.domain = domain
    app.outbox = outbox
    contract_operations = {
        **credentials.OPERATIONS,
        **storefront.OPERATIONS,
        **signup_optin.OPERATIONS,
        **social.OPERATIONS,
    }
    contract_spec = load_served_spec(CONTRACT_SPEC)
    app.state_calls = StateCalls(
        blocking=is_shared(settings.state), end_direct_rule=getattr(store, "end_direct_rule", None)
    )
    coverage = Coverage(
        store,
        declared_operations(contract_spec),
        shared=is_shared(settings.state),
        run=app.state_calls.run if app.state_calls.blocking else None,  # memory: written on the loop
    )
    if settings.reset_on_start:  # as a reset: the state and the coverage start over
        coverage.clear()
    app.inspection = Inspection.from_settings(settings, contract_operations, coverage)
    apis: list[tuple[str, dict[str, Any], Mapping[str, Callable[..., Any]]]] = [
        (CONTRACT_SPEC, contract_spec, contract_operations),
        (
            MOCK_API_SPEC,
            load_served_spec(MOCK_API_SPEC),
            {**mock_api.operations(app.inspection, outbox), **idp.OPERATIONS},
        ),
    ]
    docs = DocsPaths()
    allowed_methods = http_errors.AllowedMethods()
    declared_statuses = http_errors.DeclaredStatuses()
    for spec_name, served_spec, operations in apis:
        spec = name_security_schemes(served_spec)
        allowed_methods.add_spec(spec)
        if spec_name == CONTRACT_SPEC:  # Emporix's operations answer what Emporix declares
            declared_statuses.add_spec(spec)
        app.add_api(
            spec,
            name=spec_name,  # Flask's blueprint name: unique even for APIs sharing a base path
            swagger_ui_options=docs.allocate(spec_name, spec).options,
            resolver=OperationResolver(
                operations,
                domain,
                inline=engine is CredmockAsyncApp,
                state_calls=app.state_calls,
                without_state=mock_api.WITHOUT_STATE,
            ),
            validate_responses=settings.validate_responses,
            security_map=security_map(domain, app.state_calls),
        )
    app.docs = docs.entries
    http_errors.install(app, allowed_methods, declared_statuses)
    app.add_middleware(RequestHeadMiddleware, position=MiddlewarePosition.BEFORE_ROUTING)
    app.add_middleware(EmptyAnswerMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # Before the compiled operations (faults come first) and before CORS (it sees every answer).
    app.inspection.install(app)
    if compile_operations and engine is CredmockAsyncApp:
        compiled = CompiledOperations()
        # After the faults; and routed ahead of Connexion's router, once the path is settled.
        app.add_middleware(
            CompiledOperationsMiddleware, position=MiddlewarePosition.BEFORE_SECURITY, operations=compiled
        )
        app.add_middleware(
            RouteAheadMiddleware, position=MiddlewarePosition.BEFORE_ROUTING, operations=compiled
        )
    cors.install(app, settings.cors_origins, settings.control_token, settings.allowed_hosts)
    if settings.control_token is not None:  # a browser gets a form for the token, not JSON
        app.add_middleware(
            BrowserLoginMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, pages=BROWSER_PAGES
        )
    return app

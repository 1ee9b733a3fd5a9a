"""Operations compiled at load time: what Connexion does per request, prepared once.

Connexion reads the contract, resolves each operationId to its handler and is the source of
every validation rule. Per request, though, its middleware builds request objects, validators
and decorators anew and reads the body twice (once to validate it, once for the handler): 84%
of the server's time on the password-reset request went there.

:class:`CompiledOperationsMiddleware` sits in Connexion's stack after its router (and
:class:`RouteAheadMiddleware` routes as the router does, ahead of it). For an operation of a
shape it knows (path parameters, a JSON body or none, bearer or control-token security, a
handler without ``**kwargs``) it answers from objects built once per operation: the bearer
check called directly, the path parameters checked by the app's parameter validator, the body
read, parsed and checked in one pass by the app's body validator and handed to the handler as
parsed, the answer built as Connexion builds it (and checked by
Connexion's response validation when it is on). Errors are raised as Connexion's middleware
raises them, so the error handlers shape them the same. CORS, the docs, error handling and
every other operation stay Connexion's own.
"""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from connexion.datastructures import NoContent
from connexion.decorators.parameter import sanitized
from connexion.exceptions import BadRequestProblem, NonConformingResponseHeaders, OAuthProblem
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.frameworks.starlette import starlettify_path
from connexion.http_facts import METHODS
from connexion.jsonifier import Jsonifier
from connexion.middleware.abstract import ROUTING_CONTEXT, SpecMiddleware
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.middleware.routing import RoutingMiddleware
from connexion.operations import AbstractOperation
from connexion.resolver import ResolverError
from connexion.utils import (
    extract_content_type,
    inspect_function_arguments,
    is_json_mimetype,
    is_null,
    is_nullable,
    split_content_type,
)
from connexion.validators import VALIDATOR_MAP
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from credmock.domain import Domain
from credmock.http import connexion_compat
from credmock.http.request_drain import expects_continue
from credmock.http.security import bearer_verifier, control_token_verifier, scheme_name
from credmock.http.state_calls import StateCalls

NO_VALUE = object()  # a security scheme whose credential the request does not carry
SecurityCheck = Callable[[Scope], t.Any]  # token_info, or NO_VALUE


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), as Starlette's ``Headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def request_tenant(scope: Scope) -> str:
    """The tenant the request names: its path's, else its query's (as :func:`security.request_tenant`)."""
    tenant = scope.get("path_params", {}).get("tenant")
    if not tenant and scope.get("query_string"):
        tenant = QueryParams(scope["query_string"]).get("tenant")
    return tenant or ""


def bearer_check(verify: Callable[[str, str], dict[str, t.Any]]) -> SecurityCheck:
    """Connexion's bearer handler, inline: a missing or non-bearer header is no credential."""

    def check(scope: Scope) -> t.Any:
        authorization = header(scope, b"authorization")
        if not authorization:
            return NO_VALUE
        try:
            auth_type, token = authorization.split(maxsplit=1)
        except ValueError:
            raise OAuthProblem(detail="Invalid authorization header") from None
        if auth_type.lower() != "bearer":
            return NO_VALUE
        return verify(token, request_tenant(scope))

    return check


def header_check(name: str, verify: Callable[[str | None], dict[str, t.Any]]) -> SecurityCheck:
    key = name.lower().encode("latin-1")
    return lambda scope: verify(header(scope, key))


def verify_security(checks: list[SecurityCheck], scope: Scope) -> t.Any:
    """The first alternative that holds, as Connexion's ``verify_security`` decides it."""
    errors: list[Exception] = []
    for check in checks:
        try:
            token_info = check(scope)
        except Exception as error:
            errors.append(error)
            continue
        if token_info is not NO_VALUE:
            return token_info
    if errors:
        connexion_compat.raise_most_specific(errors)
    raise OAuthProblem(detail="No authorization token provided")


class PathParameterChecks:
    """The verdict of the parameter validator on a path parameter's value, remembered: a path
    names few tenants, each checked against the same schema on every request. Bounded: the
    memory is dropped when full (a client sending ever new values gains nothing from it)."""

    SIZE = 1024

    def __init__(self, validate_parameter: Callable[[str, t.Any, dict[str, t.Any]], str | None]) -> None:
        self.validate_parameter = validate_parameter
        self.verdicts: dict[tuple[str, t.Any], str | None] = {}

    def __call__(self, name: str, value: t.Any, parameter: dict[str, t.Any]) -> str | None:
        key = (name, value)
        try:
            return self.verdicts[key]
        except KeyError:
            pass
        verdict = self.validate_parameter("path", value, parameter)
        if len(self.verdicts) >= self.SIZE:
            self.verdicts.clear()
        self.verdicts[key] = verdict
        return verdict


# Schema keywords that only describe a value: they never make one invalid.
_ANNOTATIONS = frozenset({"description", "title", "example", "examples", "externalDocs", "deprecated"})
# "components": Connexion hands the operation's body schema with the spec's components beside
# it, for its $refs (a plain schema has none).
_PLAIN_OBJECT_KEYWORDS = _ANNOTATIONS | {"type", "properties", "required", "components"}
_PLAIN_STRING_KEYWORDS = _ANNOTATIONS | {"type"}

BodyCheck = Callable[[t.Any], bool]


def plain_acceptance(schema: dict[str, t.Any]) -> BodyCheck | None:
    """For a schema of the plainest shape (an object whose properties are plain strings, some
    of them required), a check that is True only of a body the schema's validator accepts
    without a word: such a body skips the validator. Any other body (False), and every body of
    any other schema (None), goes to the validator, which alone words the errors."""
    if set(schema) - _PLAIN_OBJECT_KEYWORDS or schema.get("type") != "object":
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    if not all(type(name) is str for name in required):
        return None
    for definition in properties.values():
        if not isinstance(definition, dict) or set(definition) - _PLAIN_STRING_KEYWORDS:
            return None
        if definition.get("type") != "string":
            return None
    strings = tuple(properties)
    required_names = tuple(required)

    def accepts(body: t.Any) -> bool:
        return (
            type(body) is dict
            and all(name in body for name in required_names)
            and all(type(body[name]) is str for name in strings if name in body)
        )

    return accepts


@dataclass(frozen=True)
class BodyRule:
    """How an operation's JSON body is read and checked, built once."""

    content: RequestValidationOperation  # Connexion's content-type rules (public methods only)
    consumes: str  # the one media type the operation accepts
    validator_class: type
    schema: dict[str, t.Any]
    required: bool
    nullable: bool
    uri_parser: t.Any
    argument: str | None  # the handler's name for the body, when it takes it
    plainly_valid: BodyCheck | None = None  # see plain_acceptance
    validators: dict[str, t.Any] = field(default_factory=dict)  # by charset, built on first use

    def validator(self, encoding: str) -> t.Any:
        """The body validator of a charset (stateless: one serves every request)."""
        validator = self.validators.get(encoding)
        if validator is None:
            validator = self.validator_class(
                schema=self.schema,
                required=self.required,
                nullable=self.nullable,
                encoding=encoding,
                strict_validation=False,
                uri_parser=self.uri_parser,
            )
            if len(self.validators) < 16:  # a client naming ever new charsets gains nothing
                self.validators[encoding] = validator
        return validator

    async def read(self, scope: Scope, receive: Receive) -> t.Any:
        """The parsed, validated body: one pass over the bytes (Connexion reads them twice)."""
        mime_type, encoding = split_content_type(header(scope, b"content-type"))
        if mime_type is None:  # no Content-Type: Connexion takes the one the operation consumes
            mime_type = self.consumes
        if mime_type.lower() != self.consumes:  # anything but the one media type: Connexion's rules
            self.content.validate_mime_type(mime_type)
        validator = self.validator(encoding or "utf-8")
        default = self.schema.get("default")
        if default is not None and not int(header(scope, b"content-length") or 0):
            body = copy.deepcopy(default)
            connexion_compat.validate_body(validator, body)
            return body
        # Otherwise the body is read (a chunked one has no Content-Length) and the validator
        # says what an empty one is, as on the other engine.

        async def stream() -> t.AsyncGenerator[bytes, None]:
            more_body = True
            while more_body:
                message = await receive()
                more_body = message.get("more_body", False)
                yield message.get("body", b"")
            yield b""

        body = await connexion_compat.parse_body(validator, stream(), scope)
        if body is None and self.nullable:
            return body
        if self.plainly_valid is None or not self.plainly_valid(body):
            connexion_compat.validate_body(validator, body)
        return body

    def handler_argument(self, body: t.Any) -> t.Any:
        """What Connexion hands the handler for a parsed JSON body."""
        if is_nullable(self.schema) and is_null(body):
            return None
        if body is None:
            return copy.deepcopy(self.schema.get("default", {}))
        return body


class CompiledOperation:
    """One operation's request handling, built once: security, path parameters, body, handler,
    answer."""

    def __init__(
        self,
        *,
        handler: Callable[..., t.Any],
        security: list[SecurityCheck] | None,
        path_parameters: list[tuple[str, str, dict[str, t.Any]]],  # (name, argument, definition)
        validate_parameter: Callable[[str, t.Any, dict[str, t.Any]], str | None],
        body: BodyRule | None,
        arguments: frozenset[str],
        produces: list[str],
        jsonifier: Jsonifier,
        state_calls: StateCalls | None = None,
    ) -> None:
        """``state_calls``: where the security check and the handler run when they may call a
        store that blocks; None runs them on the event loop."""
        self.handler = handler
        self.state_calls = state_calls
        self.security = security
        self.path_parameters = path_parameters
        self.validate_parameter = validate_parameter
        self.body = body
        self.arguments = arguments
        self.produces = produces
        self.jsonifier = jsonifier
        self.bodiless_answers: dict[tuple[t.Any, ...], tuple[int, tuple[tuple[bytes, bytes], ...]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body: t.Any = None
        body_error: Exception | None = None
        if self.body is not None and self.security and expects_continue(scope):
            # The client waits for "100 Continue" before it sends the body: a request its
            # credential refuses is answered without asking for the body at all.
            if self.state_calls is None:
                verify_security(self.security, scope)
            else:
                await self.state_calls.run(verify_security, self.security, scope)
        if self.body is not None:
            try:
                body = await self.body.read(scope, receive)
            except Exception as error:  # raised after the security check, in Connexion's order
                body_error = error
        if self.state_calls is None:
            handler_response = self.answer(scope, body, body_error)
        else:  # the bearer check and the handler together, in one portal
            handler_response = await self.state_calls.run(self.answer, scope, body, body_error)
        bodiless = (
            type(handler_response) is tuple
            and len(handler_response) == 2
            and handler_response[0] is None
            and type(handler_response[1]) is int
        )
        if bodiless and handler_response in self.bodiless_answers:
            # (None, 204): the same status and headers every time, sent as built the first time
            status, headers = self.bodiless_answers[handler_response]
            await send({"type": "http.response.start", "status": status, "headers": list(headers)})
            await send({"type": "http.response.body", "body": b""})
            return
        response = self.respond(handler_response)
        if bodiless and not response.body and len(self.bodiless_answers) < 8:
            # before sending: middleware may add headers to the list it sends
            self.bodiless_answers[handler_response] = (response.status_code, tuple(response.raw_headers))
        await response(scope, receive, send)

    def answer(self, scope: Scope, body: t.Any, body_error: Exception | None) -> t.Any:
        """The handler's answer: security, path parameters, the body read before (or the error
        reading it raised), as Connexion checks them in turn; the parts that may call the store."""
        kwargs: dict[str, t.Any] = {}
        if self.security:
            token_info = verify_security(self.security, scope)
            if "token_info" in self.arguments:
                kwargs["token_info"] = token_info
            if "user" in self.arguments:
                kwargs["user"] = token_info.get("sub", token_info.get("uid"))
        path_params = scope.get("path_params", {})
        for name, _argument, parameter in self.path_parameters:
            error = self.validate_parameter(name, path_params.get(name), parameter)
            if error:
                raise BadRequestProblem(detail=error)
        for name, argument, _parameter in self.path_parameters:
            if name in path_params:
                kwargs[argument] = path_params[name]
        if body_error is not None:
            raise body_error
        if self.body is not None and self.body.argument is not None:
            kwargs[self.body.argument] = self.body.handler_argument(body)
        return self.handler(**kwargs)

    def respond(self, handler_response: t.Any) -> Response:
        """The handler's answer as Connexion's response decorator builds it."""
        if isinstance(handler_response, Response):
            return handler_response
        data, status_code, headers = connexion_compat.unpack_handler_response(handler_response)
        content_type = self.content_type(data, headers)
        if data is None or data is NoContent:
            data = None
        elif content_type and is_json_mimetype(content_type.split(";")[0]):
            data = self.jsonifier.dumps(data)
        if not any(key.lower() == "content-type" for key in headers) and content_type:
            headers = {**headers, "Content-Type": content_type}
        return StarletteFramework.build_response(
            data,
            content_type=content_type,
            status_code=status_code or (204 if data is None else 200),
            headers=headers,
        )

    def content_type(self, data: t.Any, headers: dict[str, str]) -> str | None:
        declared = extract_content_type(headers) if headers else None
        produces = self.produces if self.produces or data is None else ["application/json"]
        if declared:
            if declared not in produces:
                raise NonConformingResponseHeaders(
                    f"Returned content type ({declared}) is not defined in operation spec ({produces})."
                )
            return declared
        return produces[0] if produces else None


@dataclass
class CompileContext:
    """What every operation of one API is compiled with."""

    domain: Domain
    handler_for: Callable[[str], Callable[..., t.Any]]
    validator_map: dict[str, t.Any]
    jsonifier: Jsonifier
    # How an operation that may call a blocking store runs (None: directly on the event loop).
    state_calls_for: Callable[[str], StateCalls | None] = lambda operation_id: None


def compile_security(operation: AbstractOperation, context: CompileContext) -> list[SecurityCheck] | None:
    """The checks of the operation's security alternatives; ``[]`` for none; None for a shape
    left to Connexion (several schemes together, OAuth, basic, an apiKey outside a header)."""
    checks: list[SecurityCheck] = []
    for requirement in operation.security or []:
        if not requirement:
            checks.append(lambda scope: {})
            continue
        if len(requirement) != 1:
            return None
        (name,) = requirement
        definition = operation.security_schemes[name]
        if definition.get("type") == "http" and definition.get("scheme", "").lower() == "bearer":
            checks.append(bearer_check(bearer_verifier(context.domain, scheme_name(definition))))
        elif (
            definition.get("type") == "apiKey"
            and definition.get("in") == "header"
            and not definition.get("x-authentication-scheme")
        ):
            verify = control_token_verifier(context.domain.settings.control_token)
            checks.append(header_check(definition["name"], verify))
        else:
            return None
    return checks


def compile_body(
    operation: AbstractOperation, context: CompileContext, arguments: frozenset[str]
) -> BodyRule | bool | None:
    """The body rule; None when the operation has no body; False for a body left to Connexion."""
    if not operation.request_body:
        return None
    consumes = operation.consumes
    if len(consumes) != 1 or not is_json_mimetype(consumes[0]):
        return False
    try:
        validator_class = context.validator_map["body"][consumes[0]]
    except KeyError:
        return False
    body_name = operation.body_name(consumes[0])
    return BodyRule(
        content=RequestValidationOperation(
            None,  # type: ignore[arg-type]  # only its content-type rules are used
            operation=operation,
            validator_map=context.validator_map,
        ),
        consumes=consumes[0].lower(),
        validator_class=validator_class,
        schema=operation.body_schema(consumes[0]),
        required=operation.request_body.get("required", False),
        nullable=is_nullable(operation.body_definition(consumes[0])),
        uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
        argument=body_name if body_name in arguments else None,
        plainly_valid=plain_acceptance(operation.body_schema(consumes[0])),
    )


def compile_operation(operation: AbstractOperation, context: CompileContext) -> CompiledOperation | None:
    """The operation compiled, or None when its shape is left to Connexion's middleware."""
    parameters = operation.parameters
    if any(
        parameter["in"] != "path" or parameter.get("schema", parameter).get("type") != "string"
        for parameter in parameters
    ):
        return None
    security = compile_security(operation, context)
    if security is None:
        return None
    handler = context.handler_for(operation.operation_id)
    names, has_kwargs = inspect_function_arguments(handler)
    if has_kwargs or operation.method.upper() == "TRACE":
        return None
    arguments = frozenset(names)
    produces = list(dict.fromkeys(operation.produces))
    if len(produces) > 1:  # the handler would have to say which one
        return None
    body = compile_body(operation, context, arguments)
    if body is False:
        return None
    uri_parser = operation.uri_parser_class(parameters, operation.body_definition())
    parameter_validator = context.validator_map["parameter"](
        parameters, uri_parser=uri_parser, strict_validation=False, security_query_params=[]
    )
    return CompiledOperation(
        handler=handler,
        security=security,
        path_parameters=[
            (parameter["name"].replace("-", "_"), sanitized(parameter["name"].replace("-", "_")), parameter)
            for parameter in parameters
        ],
        validate_parameter=PathParameterChecks(parameter_validator.validate_parameter),
        body=body or None,
        arguments=arguments,
        produces=produces,
        jsonifier=context.jsonifier,
        state_calls=context.state_calls_for(operation.operation_id),
    )


class CompiledOperations:
    """The compiled operations of one app, by (API base path, operationId): filled by
    :class:`CompiledOperationsMiddleware`, read by :class:`RouteAheadMiddleware` too."""

    def __init__(self) -> None:
        self.by_route: dict[tuple[str, str], Callable[[Scope, Receive, Send], Awaitable[None]]] = {}

    def add_api(self, specification: t.Any, base_path: str | None, **kwargs: t.Any) -> None:
        resolver = kwargs.get("resolver")
        handler_for = getattr(resolver, "compiled_handler", None)
        if handler_for is None or kwargs.get("strict_validation"):
            return
        api_base_path = specification.base_path if base_path is None else base_path
        validator_map = {**VALIDATOR_MAP, **(kwargs.get("validator_map") or {})}
        context = CompileContext(
            domain=resolver.domain,  # type: ignore[union-attr]
            handler_for=handler_for,
            validator_map=validator_map,
            jsonifier=kwargs.get("jsonifier") or Jsonifier(),
            state_calls_for=getattr(resolver, "state_calls_for", lambda operation_id: None),
        )
        for operation in operations_of(specification, resolver, kwargs.get("uri_parser_class")):
            compiled: t.Any = compile_operation(operation, context)
            if compiled is None:
                continue
            if kwargs.get("validate_responses"):
                compiled = ResponseValidationOperation(
                    compiled, operation=operation, validator_map=validator_map
                )
            self.by_route[(api_base_path, operation.operation_id)] = compiled


def operations_of(specification: t.Any, resolver: t.Any, uri_parser_class: t.Any) -> t.Iterator[t.Any]:
    """The operations of a spec in the order Connexion routes them; None for one whose handler
    does not resolve (Connexion routes it to its resolver-error handler)."""
    for path, methods in specification.get("paths", {}).items():
        for method in methods:
            if method not in METHODS:
                continue
            try:
                yield specification.operation_cls.from_spec(
                    specification,
                    path=path,
                    method=method,
                    resolver=resolver,
                    uri_parser_class=uri_parser_class,
                )
            except ResolverError:
                yield None


class CompiledOperationsMiddleware(SpecMiddleware):
    """After Connexion's router (and whatever runs after it, such as injected faults): answers a
    routed request whose operation is compiled; hands every other one on to Connexion's
    security, validation and handler decorators."""

    def __init__(self, app: ASGIApp, *, operations: CompiledOperations) -> None:
        self.app = app
        self.compiled = operations

    @property
    def operations(self) -> dict[tuple[str, str], t.Any]:
        """(API base path, operationId) -> the compiled operation."""
        return self.compiled.by_route

    def add_api(self, specification: t.Any, base_path: str | None = None, **kwargs: t.Any) -> None:
        self.compiled.add_api(specification, base_path, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT) if scope["type"] == "http" else None
        compiled = (
            self.compiled.by_route.get((routing["api_base_path"], routing["operation_id"]))
            if routing
            else None
        )
        if compiled is None:
            await self.app(scope, receive, send)
        else:
            await compiled(scope, receive, send)


@dataclass(frozen=True)
class RouteEntry:
    """One route of Connexion's router, in its order."""

    route: Route
    literal_ends: tuple[str, str]  # the path's text before its first and after its last parameter
    api_base_path: str
    operation_id: str | None


def literal_ends(route_path: str) -> tuple[str, str]:
    """What any path a route matches starts and ends with (its whole text when it has no
    parameter)."""
    if "{" not in route_path:
        return "", route_path
    return route_path.split("{", 1)[0], route_path.rsplit("}", 1)[1]


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:  # a Route's endpoint
    raise RuntimeError("route entries are matched, not called")


class RouteAheadMiddleware(SpecMiddleware):
    """Connexion's routing, done ahead of Connexion's router for the compiled operations.

    Placed right before Connexion's :class:`RoutingMiddleware`, it holds every operation's route
    in the order that router holds them (APIs in the order added, then the spec's paths and
    methods), so the first route matching a request is the one the router would pick. When that
    route's operation is compiled, the request goes on routed (path parameters and the routing
    context in its scope, as the router leaves them) to what follows the router; any other
    request goes to the router itself. Matching a path against a handful of routes of the
    request's method is cheaper than the router's mounts, routes and context variables, and a
    path seen before is not matched again.
    """

    SIZE = 1024  # paths remembered
    PATH_LIMIT = 256  # characters of the longest path remembered

    def __init__(self, app: ASGIApp, *, operations: CompiledOperations) -> None:
        self.app = app
        self.compiled = operations
        # What follows the router, when this middleware is right before it (else: no shortcut).
        self.after_router: ASGIApp | None = app.app if isinstance(app, RoutingMiddleware) else None
        self.routes: dict[str, list[RouteEntry]] = {}  # by method (GET routes also answer HEAD)
        self.known_routes: dict[tuple[str, str], tuple[RouteEntry, dict[str, t.Any]] | None] = {}

    def add_api(self, specification: t.Any, base_path: str | None = None, **kwargs: t.Any) -> None:
        api_base_path = specification.base_path if base_path is None else base_path
        operations = operations_of(specification, kwargs.get("resolver"), kwargs.get("uri_parser_class"))
        for (path, method), operation in zip(spec_routes(specification), operations, strict=True):
            types = operation.get_path_parameter_types() if operation is not None else {}
            route_path = api_base_path + starlettify_path(path, types)
            route = Route(route_path, _never_called, methods=[method.upper()])
            entry = RouteEntry(
                route, literal_ends(route_path), api_base_path, getattr(operation, "operation_id", None)
            )
            for route_method in route.methods or ():
                self.routes.setdefault(route_method, []).append(entry)

    def route(self, scope: Scope) -> tuple[RouteEntry, dict[str, t.Any]] | None:
        """The compiled operation's route the request takes and its path parameters; None when
        the first route that matches is not compiled, or none does."""
        # Under a root path Starlette matches the rest of the path: no shortcut by the path then.
        path = None if scope.get("root_path") else scope["path"]
        for entry in self.routes.get(scope["method"], ()):
            prefix, suffix = entry.literal_ends
            if path is not None and not (path.startswith(prefix) and path.endswith(suffix)):
                continue  # cannot match: no need for the route's regex
            match, child_scope = entry.route.matches(scope)
            if match is not Match.FULL:
                continue
            if (entry.api_base_path, entry.operation_id) not in self.compiled.by_route:
                return None
            return entry, child_scope["path_params"]
        return None

    def remembered_route(self, scope: Scope) -> tuple[RouteEntry, dict[str, t.Any]] | None:
        """:meth:`route`, remembered by method and path (a client sends the same few paths over
        and over). Bounded: the memory is dropped when full, and long paths are not kept."""
        if scope.get("root_path") or scope.get("path_params") or len(scope["path"]) > self.PATH_LIMIT:
            return self.route(scope)
        key = (scope["method"], scope["path"])
        try:
            return self.known_routes[key]
        except KeyError:
            pass
        found = self.route(scope)
        if len(self.known_routes) >= self.SIZE:
            self.known_routes.clear()
        self.known_routes[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.remembered_route(scope) if scope["type"] == "http" and self.after_router else None
        if found is None:
            await self.app(scope, receive, send)
            return
        entry, path_params = found
        routed = {
            **scope,
            "path_params": {**path_params},  # a copy: the request may change its own
            "extensions": {
                **scope.get("extensions", {}),
                ROUTING_CONTEXT: {"api_base_path": entry.api_base_path, "operation_id": entry.operation_id},
            },
        }
        await self.after_router(routed, receive, send)


def spec_routes(specification: t.Any) -> t.Iterator[tuple[str, str]]:
    """(path, method) of each operation of a spec, in the order :func:`operations_of` gives them."""
    for path, methods in specification.get("paths", {}).items():
        for method in methods:
            if method in METHODS:
                yield path, method

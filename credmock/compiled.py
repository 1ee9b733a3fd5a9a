"""Operations compiled at load time: what Connexion does per request, prepared once.

Connexion reads the contract, resolves each operationId to its handler and is the source of
every validation rule. Per request, though, its middleware builds request objects, validators
and decorators anew and reads the body twice (once to validate it, once for the handler): 84%
of the server's time on the password-reset request went there.

:class:`CompiledOperationsMiddleware` sits in Connexion's stack right after its router. For an
operation of a shape it knows (path parameters, a JSON body or none, bearer or control-token
security, a handler without ``**kwargs``) it answers from objects built once per operation:
the bearer check called directly, the path parameters checked by the app's parameter validator,
the body read, parsed and checked in one pass by the app's body validator and handed to the
handler as parsed, the answer built as Connexion builds it (and checked by Connexion's response
validation when it is on). Errors are raised as Connexion's middleware raises them, so the
error handlers shape them the same. Routing, CORS, the docs and every other operation stay
Connexion's own.
"""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connexion.datastructures import NoContent
from connexion.decorators.parameter import sanitized
from connexion.exceptions import BadRequestProblem, NonConformingResponseHeaders, OAuthProblem
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.http_facts import METHODS
from connexion.jsonifier import Jsonifier
from connexion.middleware.abstract import ROUTING_CONTEXT, SpecMiddleware
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationOperation
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
from starlette.types import ASGIApp, Receive, Scope, Send

from credmock import connexion_compat
from credmock.backend import CredentialsBackend
from credmock.security import bearer_verifier, control_token_verifier, scheme_name

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

    async def read(self, scope: Scope, receive: Receive) -> t.Any:
        """The parsed, validated body: one pass over the bytes (Connexion reads them twice)."""
        mime_type, encoding = split_content_type(header(scope, b"content-type"))
        if mime_type is None:  # no Content-Type: Connexion takes the one the operation consumes
            mime_type = self.consumes
        if mime_type.lower() != self.consumes:  # anything but the one media type: Connexion's rules
            self.content.validate_mime_type(mime_type)
        encoding = encoding or "utf-8"
        validator = self.validator_class(
            schema=self.schema,
            required=self.required,
            nullable=self.nullable,
            encoding=encoding,
            strict_validation=False,
            uri_parser=self.uri_parser,
        )
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
        if not (body is None and self.nullable):
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
        path_parameters: list[tuple[str, dict[str, t.Any]]],
        validate_parameter: Callable[[str, t.Any, dict[str, t.Any]], str | None],
        body: BodyRule | None,
        arguments: frozenset[str],
        produces: list[str],
        jsonifier: Jsonifier,
    ) -> None:
        self.handler = handler
        self.security = security
        self.path_parameters = path_parameters
        self.validate_parameter = validate_parameter
        self.body = body
        self.arguments = arguments
        self.produces = produces
        self.jsonifier = jsonifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kwargs: dict[str, t.Any] = {}
        if self.security:
            token_info = verify_security(self.security, scope)
            if "token_info" in self.arguments:
                kwargs["token_info"] = token_info
            if "user" in self.arguments:
                kwargs["user"] = token_info.get("sub", token_info.get("uid"))
        path_params = scope.get("path_params", {})
        for name, parameter in self.path_parameters:
            value = path_params.get(name)
            error = self.validate_parameter("path", value, parameter)
            if error:
                raise BadRequestProblem(detail=error)
        for name, _parameter in self.path_parameters:
            if name in path_params:
                kwargs[sanitized(name)] = path_params[name]
        if self.body is not None:
            body = await self.body.read(scope, receive)
            if self.body.argument is not None:
                kwargs[self.body.argument] = self.body.handler_argument(body)
        response = self.respond(self.handler(**kwargs))
        await response(scope, receive, send)

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

    backend: CredentialsBackend
    handler_for: Callable[[str], Callable[..., t.Any]]
    validator_map: dict[str, t.Any]
    jsonifier: Jsonifier


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
            checks.append(bearer_check(bearer_verifier(context.backend, scheme_name(definition))))
        elif (
            definition.get("type") == "apiKey"
            and definition.get("in") == "header"
            and not definition.get("x-authentication-scheme")
        ):
            verify = control_token_verifier(context.backend.settings.control_token)
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
        path_parameters=[(parameter["name"].replace("-", "_"), parameter) for parameter in parameters],
        validate_parameter=parameter_validator.validate_parameter,
        body=body or None,
        arguments=arguments,
        produces=produces,
        jsonifier=context.jsonifier,
    )


class CompiledOperationsMiddleware(SpecMiddleware):
    """Answers the compiled operations; hands every other request on to Connexion's stack.

    An API takes part when its resolver offers ``compiled_handler(operation_id)`` (a plain
    function taking the handler's arguments) and ``backend``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.operations: dict[tuple[str, str], Callable[[Scope, Receive, Send], Awaitable[None]]] = {}

    def add_api(self, specification: t.Any, base_path: str | None = None, **kwargs: t.Any) -> None:
        resolver = kwargs.get("resolver")
        handler_for = getattr(resolver, "compiled_handler", None)
        if handler_for is None or kwargs.get("strict_validation"):
            return
        api_base_path = specification.base_path if base_path is None else base_path
        validator_map = {**VALIDATOR_MAP, **(kwargs.get("validator_map") or {})}
        context = CompileContext(
            backend=resolver.backend,  # type: ignore[union-attr]
            handler_for=handler_for,
            validator_map=validator_map,
            jsonifier=kwargs.get("jsonifier") or Jsonifier(),
        )
        for path, methods in specification.get("paths", {}).items():
            for method in methods:
                if method not in METHODS:
                    continue
                try:
                    operation = specification.operation_cls.from_spec(
                        specification,
                        path=path,
                        method=method,
                        resolver=resolver,
                        uri_parser_class=kwargs.get("uri_parser_class"),
                    )
                except ResolverError:
                    continue
                compiled: t.Any = compile_operation(operation, context)
                if compiled is None:
                    continue
                if kwargs.get("validate_responses"):
                    compiled = ResponseValidationOperation(
                        compiled, operation=operation, validator_map=validator_map
                    )
                self.operations[(api_base_path, operation.operation_id)] = compiled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT) if scope["type"] == "http" else None
        compiled = (
            self.operations.get((routing["api_base_path"], routing["operation_id"])) if routing else None
        )
        if compiled is None:
            await self.app(scope, receive, send)
        else:
            await compiled(scope, receive, send)

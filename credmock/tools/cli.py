"""The ``credmock`` command: ``credmock serve`` (and further subcommands registered below)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from credmock.http.host_guard import is_loopback
from credmock.settings import CONTROL_TOKEN_ENV, DEFAULT_SHUTDOWN_GRACE_SECONDS, Settings
from credmock.store.base import describe_state
from credmock.tools import option_checks as checks
from credmock.tools.coverage import add_coverage_command
from credmock.tools.env_options import invalid_environment_values, read_environment
from credmock.tools.proxy import add_proxy_command
from credmock.tools.verify import add_verify_command

GENERATE_CONTROL_TOKEN = "generate"
# serve's options are also read from CREDMOCK_<OPTION> (CREDMOCK_PORT, CREDMOCK_CONTROL_TOKEN, ...).
ENV_PREFIX = "CREDMOCK_"


def parse_latency(text: str) -> tuple[float, float]:
    """``MIN-MAX`` or ``MS`` milliseconds, for ``--latency``."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MIN-MAX milliseconds, e.g. 200-800") from None
    if not 0 <= bounds[0] <= bounds[1] <= 600_000:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 <= MIN <= MAX <= 600000 milliseconds")
    return bounds


def settings_from_arguments(arguments: argparse.Namespace) -> Settings:
    fixtures = None if arguments.no_fixtures else (arguments.fixtures or Settings().fixtures_path)
    return Settings(
        fixtures_path=fixtures,
        seed=arguments.seed,
        fake_customers=arguments.fake_customers,
        password_min_length=arguments.password_min_length,
        strict_tenants=arguments.strict_tenants,
        password_reset_token_lifetime=arguments.reset_token_lifetime,
        email_change_token_lifetime=arguments.email_change_token_lifetime,
        password_reset_link=arguments.reset_link,
        email_change_link=arguments.email_change_link,
        outbox_capacity=arguments.outbox_capacity,
        validate_responses=arguments.validate_responses,
        engine=arguments.engine,
        max_body_bytes=arguments.max_body_size,
        cors_origins=tuple(arguments.cors_origin or Settings.cors_origins),
        allowed_hosts=tuple(arguments.allowed_host or ()),
        state=arguments.state,
        reset_on_start=arguments.reset_on_start,
        log_format=arguments.log_format,
        quiet=arguments.quiet,
        journal_size=arguments.journal_size,
        smtp_url=arguments.smtp_url,
        mail_from=arguments.mail_from,
        latency_ms=arguments.latency,
        double_opt_in=tuple(arguments.double_opt_in or ()),
        signup_confirmation_token_lifetime=arguments.signup_confirmation_token_lifetime,
        signup_confirmation_link=arguments.signup_confirmation_link,
        idp_issuer=arguments.idp_issuer,
        idp_audience=arguments.idp_audience,
        exchange_configs=tuple(arguments.exchange_config or ()),
        store_timeout=arguments.store_timeout,
    )


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that shape the mock's state and rules (shared by every way of starting it)."""
    defaults = Settings()
    group = parser.add_argument_group("state and rules")
    group.add_argument(
        "--fixtures",
        type=Path,
        help="YAML file of tenants and customers (default: the bundled fixtures)",
    )
    group.add_argument("--no-fixtures", action="store_true", help="start with no customers")
    group.add_argument(
        "--state",
        default=defaults.state,
        metavar="URL",
        help="where the state lives: 'memory' (default), 'sqlite:///PATH' (kept across restarts, shared "
        "by --workers) or 'redis://[:password@]HOST:PORT/DB' (shared by instances); a store that holds "
        "state keeps it, fixtures fill an empty one (default: memory)",
    )
    group.add_argument(
        "--reset-on-start",
        action="store_true",
        help="clear the store at start, then load the fixtures (default: keep what it holds)",
    )
    group.add_argument("--seed", type=int, help="seed tokens, ids and fake customers: same seed, same run")
    group.add_argument(
        "--fake-customers",
        type=checks.whole_number(0),
        default=0,
        metavar="N",
        help="add N Faker customers to each tenant (addresses on reserved domains such as example.com)",
    )
    group.add_argument(
        "--password-min-length",
        type=checks.whole_number(1),
        default=defaults.password_min_length,
        metavar="N",
        help="shortest password signup, reset and password change accept",
    )
    group.add_argument(
        "--strict-tenants",
        action="store_true",
        help="answer tenants not in the fixtures with the contract's tenant error (400) "
        "instead of serving them empty",
    )
    group.add_argument(
        "--reset-token-lifetime",
        type=checks.whole_number(1),
        default=defaults.password_reset_token_lifetime,
        metavar="SECONDS",
        help="how long the token of a password-reset email can be used",
    )
    group.add_argument(
        "--email-change-token-lifetime",
        type=checks.whole_number(1),
        default=defaults.email_change_token_lifetime,
        metavar="SECONDS",
        help="how long the token of an email-change email can be used",
    )
    group.add_argument(
        "--reset-link",
        default=defaults.password_reset_link,
        metavar="TEMPLATE",
        help="link in reset emails; {tenant}, {token} and {email} are filled in",
    )
    group.add_argument(
        "--email-change-link",
        default=defaults.email_change_link,
        metavar="TEMPLATE",
        help="link in email-change emails; {tenant}, {token} and {email} are filled in",
    )
    group.add_argument(
        "--outbox-capacity",
        type=checks.whole_number(1),
        default=defaults.outbox_capacity,
        metavar="N",
        help="emails kept in the outbox; the oldest go first",
    )
    group.add_argument(
        "--double-opt-in",
        action="append",
        metavar="TENANT",
        help="signups of TENANT create an inactive account and email an activation link (repeatable; "
        "'*': every tenant; fixtures may mark a tenant doubleOptIn: true too)",
    )
    group.add_argument(
        "--signup-confirmation-token-lifetime",
        type=checks.whole_number(1),
        default=defaults.signup_confirmation_token_lifetime,
        metavar="SECONDS",
        help="how long the activation link of a signup-confirmation email can be used",
    )
    group.add_argument(
        "--signup-confirmation-link",
        default=defaults.signup_confirmation_link,
        metavar="TEMPLATE",
        help="link in activation emails; {tenant}, {token} and {email} are filled in",
    )
    group.add_argument(
        "--idp-issuer",
        metavar="URL",
        help="issuer of the mock identity provider's tokens (default: the URL it is reached at, "
        "http://HOST:PORT/_mock/idp)",
    )
    group.add_argument(
        "--idp-audience",
        default=defaults.idp_audience,
        metavar="AUDIENCE",
        help="audience of its access tokens, which exchangeauthtoken requires",
    )
    group.add_argument(
        "--exchange-config",
        action="append",
        metavar="NAME",
        help="a configuration exchangeauthtoken accepts in 'config' beside 'default' (repeatable)",
    )
    group.add_argument(
        "--max-body-size",
        type=checks.whole_number(1),
        default=defaults.max_body_bytes,
        metavar="BYTES",
        help=f"larger request bodies answer 400 (default: {defaults.max_body_bytes})",
    )
    group.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the contract (slower)",
    )
    group.add_argument(
        "--engine",
        choices=["async", "flask"],
        default=defaults.engine,
        help=f"web stack serving the same wiring (default: {defaults.engine}; async is the faster)",
    )
    group.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="browser origin allowed to call the mock, e.g. http://localhost:3000 (repeatable; "
        "default: any origin, echoed with credentials allowed)",
    )
    group.add_argument(
        "--allowed-host",
        action="append",
        type=checks.allowed_host,
        metavar="NAME",
        help="a host name, beyond localhost and loopback addresses, that requests to a mock on "
        "loopback may name in their Host header, e.g. my-laptop.local (repeatable; default: none)",
    )
    group.add_argument(
        "--journal-size",
        type=checks.whole_number(0),
        default=defaults.journal_size,
        metavar="N",
        help=f"requests kept for GET /_mock/requests (default: {defaults.journal_size}; 0: none)",
    )
    group.add_argument(
        "--latency",
        type=parse_latency,
        metavar="MIN-MAX",
        help="delay every contract request by MIN to MAX milliseconds (e.g. 200-800), "
        "for a frontend that must show its spinner",
    )
    group.add_argument(
        "--smtp-url",
        type=checks.smtp_url,
        metavar="URL",
        help="also deliver every email to this SMTP server: smtp://HOST:PORT (e.g. Mailpit's "
        "smtp://127.0.0.1:1025), smtps://HOST:PORT for TLS, smtp://USER:PASSWORD@HOST:PORT to log in",
    )
    group.add_argument(
        "--mail-from",
        type=checks.sender,
        default=defaults.mail_from,
        metavar="ADDRESS",
        help=f"From of the delivered emails (default: {defaults.mail_from})",
    )
    add_store_arguments(group, defaults)


def add_store_arguments(group: argparse._ArgumentGroup, defaults: Settings) -> None:
    """How long a request waits on a shared store before it is answered 503."""
    group.add_argument(
        "--store-timeout",
        type=checks.wait_seconds(300),
        default=defaults.store_timeout,
        metavar="SECONDS",
        help="longest wait on a SQLite or Redis store (connect, answer, another process's lock) "
        f"before a request is answered 503 (default: {defaults.store_timeout:g})",
    )


def banner(url: str, app) -> str:  # app: credmock.app.CredmockApp
    domain = app.domain
    lines = [f"credmock serving the Emporix credentials contract on {url}"]
    tenants = domain.tenants()
    for name in sorted(tenants):
        customers = domain.list_customers(name)
        emails = ", ".join(sorted(customer.email for customer in customers)[:5])
        more = len(customers) - 5
        suffix = f", +{more} more" if more > 0 else ""
        noun = "customer" if len(customers) == 1 else "customers"
        lines.append(f"  tenant {name}: {len(customers)} {noun} ({emails}{suffix})")
    if app.settings.strict_tenants:
        lines.append(f"  strict tenants: only {', '.join(domain.known_tenants)}; others answer 400")
    first_tenant = next(iter(tenants), "demo")  # the first of the fixtures file
    lines += [
        f"  anonymous:   GET {url}/customerlogin/auth/anonymous/login?tenant={first_tenant}&client_id=any",
        f"  inbox:       {inbox_address(url, app.settings.control_token)}  (the emails in a web page)",
        f"  outbox:      {url}/_mock/outbox  (newest: {url}/_mock/outbox/latest)",
        f"  tokens:      POST {url}/_mock/tokens",
        f"  reset state: POST {url}/_mock/reset",
        f"  requests:    {url}/_mock/requests  (faults: {url}/_mock/faults)",
    ]
    for number, docs in enumerate(app.docs):
        label = "  docs UI:     " if number == 0 else " " * 15
        lines.append(f"{label}{url}{docs.ui_path}  ({docs.title})")
    lines.append(f"  state:       {describe_state(app.settings.state)}")
    delivery = app.outbox.delivery
    if delivery is not None:
        lines.append(f"  SMTP:        every email also goes to {delivery.server}, from {delivery.sender}")
    origins = app.settings.cors_origins
    lines.append(f"  CORS:        {'any origin' if '*' in origins else ', '.join(origins) or 'none'}")
    return "\n".join(lines)


def inbox_address(url: str, control_token: str | None) -> str:
    """The inbox page as a person opens it; with a control token, the query that lets a browser in."""
    if control_token is None:
        return f"{url}/_mock/inbox"
    return f"{url}/_mock/inbox?controlToken=TOKEN"


def print_banner(text: str, log_format: str) -> None:
    """The banner on stdout, or on stderr when stdout carries the JSON request log: a collector
    reading stdout line by line then gets JSON lines only."""
    print(text, file=sys.stdout if log_format == "text" else sys.stderr, flush=True)


def control_token_problem(arguments: argparse.Namespace, control_token: str | None) -> str | None:
    """Why the control-token options cannot start a server, or None."""
    if control_token is not None and not control_token.strip():
        return "the control token is empty"
    if arguments.open_control_api and control_token is not None:
        return "--open-control-api and a control token exclude each other: choose one"
    if control_token is None and not arguments.open_control_api and not is_loopback(arguments.host):
        return (
            f"refusing to listen on {arguments.host} without a control token: the /_mock API "
            "hands out access tokens and reads the outbox. Start with --control-token TOKEN "
            f"(or --control-token {GENERATE_CONTROL_TOKEN}, or {CONTROL_TOKEN_ENV}=TOKEN), "
            "then send it in the X-Mock-Control-Token header; on a private CI network, "
            "--open-control-api serves /_mock to anyone who can reach it."
        )
    return None


def serve(arguments: argparse.Namespace) -> int:
    from credmock.app import create_app
    from credmock.core.seeding import FixtureError
    from credmock.http.serving import (
        BindError,
        bound_port,
        freeze_loaded_objects,
        listen,
        serve_processes,
        serve_until_stopped,
        url_host,
    )
    from credmock.store import StoreError, is_shared

    control_token = arguments.control_token
    if control_token == GENERATE_CONTROL_TOKEN:
        control_token = secrets.token_urlsafe(32)
    problem = control_token_problem(arguments, control_token)
    if problem is not None:
        print(f"credmock: {problem}", file=sys.stderr)
        return 2
    if arguments.workers < 1:
        print("credmock: --workers must be at least 1", file=sys.stderr)
        return 2
    if arguments.workers > 1 and not is_shared(arguments.state):
        print(
            f"credmock: --workers {arguments.workers} needs a shared store: with --state memory each worker "
            "would keep its own customers and tokens; use --state sqlite:///PATH or redis://HOST:PORT/DB",
            file=sys.stderr,
        )
        return 2
    if arguments.workers > 1 and arguments.seed is not None:
        print("credmock: --seed with --workers: every worker would draw the same tokens", file=sys.stderr)
        return 2
    try:
        settings = dataclasses.replace(settings_from_arguments(arguments), control_token=control_token)
        app = create_app(settings)  # fills (or, with --reset-on-start, resets) the store, once
        sock = listen(arguments.host, arguments.port)
    except (FixtureError, ValueError, StoreError, BindError) as error:
        print(f"credmock: {error}", file=sys.stderr)
        return 2
    url = f"http://{url_host(arguments.host)}:{bound_port(sock)}"
    if arguments.open_control_api:
        print(
            f"credmock: warning: --open-control-api: {url}/_mock (outbox, tokens, reset) answers anyone "
            "who can reach it, without a control token; use it on a private network only",
            file=sys.stderr,
            flush=True,
        )
    print_banner(banner(url, app), arguments.log_format)
    if arguments.control_token == GENERATE_CONTROL_TOKEN:  # shown once, as the only way to learn it
        print_banner(
            f"  control token (generated): {control_token}  (send it as X-Mock-Control-Token; "
            f"the inbox: {url}/_mock/inbox?controlToken={control_token})",
            arguments.log_format,
        )
    elif control_token is not None:
        print_banner(
            "  control token: required on /_mock in the X-Mock-Control-Token header "
            "(the inbox page takes it as ?controlToken=TOKEN)",
            arguments.log_format,
        )
    if arguments.workers == 1:
        freeze_loaded_objects()
        serve_until_stopped(uvicorn_config(app, arguments), sock)
        delivery = app.outbox.delivery
        if delivery is not None and not delivery.wait_until_idle(timeout=10):
            print(f"credmock: emails still queued for {delivery.server} at exit", file=sys.stderr)
        return 0
    from credmock.tools import workers

    print_banner(f"  workers:     {arguments.workers} processes over the one store", arguments.log_format)
    app.domain.close()
    workers.pass_settings(dataclasses.replace(settings, reset_on_start=False))
    serve_processes(uvicorn_config(f"{workers.__name__}:app", arguments, factory=True), sock)
    return 0


def uvicorn_config(app, arguments: argparse.Namespace, **options):  # -> uvicorn.Config
    """``app``: the app, or the import string of a factory (``factory=True``) for ``--workers``."""
    import uvicorn

    from credmock.http.serving import protocol_options

    # No uvicorn access log: the request log (credmock.observe.request_log) says more, reasons included.
    return uvicorn.Config(
        app,
        log_level=arguments.log_level,
        access_log=False,
        workers=arguments.workers,
        **protocol_options(arguments.shutdown_grace),
        **options,
    )


def add_serve_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "serve",
        formatter_class=checks.DefaultsHelpFormatter,
        help="serve the mock",
        description="Serve the mock. Every option can also be set by the environment variable named "
        "after it (flags win); switches take 1/0, true/false, yes/no; repeatable options a "
        "comma-separated list.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument(
        "-p",
        "--port",
        type=checks.port_number,
        default=8080,
        help="port to listen on; 0 picks a free one (default: 8080)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="what the web server itself logs on stderr",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=Settings.log_format,
        help="the request log on stdout, one line per request with why each error was answered: "
        "text for a terminal, json for a log collector (the banner then goes to stderr) (default: text)",
    )
    parser.add_argument("--quiet", action="store_true", help="no request log")
    parser.add_argument(
        "--workers",
        type=checks.whole_number(1),
        default=1,
        metavar="N",
        help="serve from N processes (default: 1); needs a shared --state (sqlite or redis)",
    )
    parser.add_argument(
        "--control-token",
        metavar="TOKEN",
        help="require this token in the X-Mock-Control-Token header of every /_mock call (needed to "
        f"listen beyond loopback); '{GENERATE_CONTROL_TOKEN}' makes a random one and prints it",
    )
    parser.add_argument(
        "--open-control-api",
        action="store_true",
        help="serve /_mock without a control token beyond loopback too (private CI networks only)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=checks.seconds,
        default=DEFAULT_SHUTDOWN_GRACE_SECONDS,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long requests in progress (a delay) may still finish before "
        "they are cut short with a 503; a second signal stops at once",
    )
    add_settings_arguments(parser)
    parser.set_defaults(run=serve)


# Each subcommand module contributes one function that adds its parser.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_serve_command,
    add_verify_command,
    add_proxy_command,
    add_coverage_command,
]


def version() -> str:
    try:
        return importlib.metadata.version("credmock")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The command line; ``serve``'s options also read ``CREDMOCK_<OPTION>`` from ``environ``."""
    parser = checks.OneLineParser(prog="credmock", description="Stateful mock of the Emporix credentials API")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for add_command in SUBCOMMANDS:
        add_command(subcommands)
    read_environment(subcommands.choices["serve"], ENV_PREFIX, environ)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    invalid = invalid_environment_values(arguments)
    if invalid:
        print(f"credmock {arguments.command}: {invalid[0].message()}", file=sys.stderr)
        return 2
    try:
        return arguments.run(arguments)
    except KeyboardInterrupt:  # Ctrl-C before serving began: stop quietly
        return 130


if __name__ == "__main__":
    sys.exit(main())

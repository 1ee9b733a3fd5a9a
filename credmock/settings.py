"""Settings of one mock instance; the CLI and the pytest plugin build them, the app factory reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from credmock.core.models import DEFAULT_CUSTOMER_SCOPES

# The control token of the /_mock API: the header it travels in, the variable it may come from.
CONTROL_TOKEN_HEADER = "X-Mock-Control-Token"
CONTROL_TOKEN_ENV = "CREDMOCK_CONTROL_TOKEN"

# Request bodies above this size answer 400: the credential bodies are a few hundred bytes.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Seconds a stopping server waits for the requests in progress (a delay) before cutting them short.
DEFAULT_SHUTDOWN_GRACE_SECONDS = 3.0


def default_fixtures_path() -> Path:
    return Path(str(resources.files("credmock.fixtures").joinpath("customers.yaml")))


@dataclass(frozen=True)
class Settings:
    fixtures_path: Path | None = field(default_factory=default_fixtures_path)
    seed: int | None = None
    fake_customers: int = 0
    # Seconds since the epoch the clock starts at; None follows the system time.
    clock_start: float | None = None

    anonymous_token_lifetime: int = 3599
    customer_token_lifetime: int = 2591999
    refresh_token_lifetime: int = 86399
    password_reset_token_lifetime: int = 3600
    email_change_token_lifetime: int = 3600
    default_customer_scopes: tuple[str, ...] = DEFAULT_CUSTOMER_SCOPES
    password_min_length: int = 6
    # Refuse tenants not in the fixtures with the contract's tenant error (else: logged, served empty).
    strict_tenants: bool = False

    # Where the state lives: "memory", "sqlite:///PATH" or "redis://[:password@]HOST:PORT/DB".
    # Never shown (repr, logs, banner): a URL may hold a password.
    state: str = field(default="memory", repr=False)
    # Clear the store at start instead of keeping what it holds.
    reset_on_start: bool = False
    # Seconds a call to a shared store may take (connect, read, wait for a lock) before the request
    # is answered 503.
    store_timeout: float = 2.0

    outbox_capacity: int = 10_000
    password_reset_link: str = "http://localhost:3000/reset-password?tenant={tenant}&token={token}"
    email_change_link: str = "http://localhost:3000/confirm-email?tenant={tenant}&token={token}"

    validate_responses: bool = False
    # The web stack: "async" (Connexion's AsyncApp, handlers on the event loop) or "flask"
    # (Connexion's FlaskApp, handlers in a WSGI thread pool). Same wiring, same answers.
    engine: str = "async"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # When set, every /_mock call must send it in the X-Mock-Control-Token header.
    control_token: str | None = field(default=None, repr=False)
    # Browser origins allowed to call the mock (scheme://host[:port]); "*": any origin, echoed.
    cors_origins: tuple[str, ...] = ("*",)
    # Host names, beyond the loopback ones, a request reaching the mock on loopback may name.
    allowed_hosts: tuple[str, ...] = ()

    # The request log on stdout: one line per request, "text" or "json"; quiet: no log.
    log_format: str = "text"
    quiet: bool = False
    # The newest requests kept for GET /_mock/requests; 0 keeps none.
    journal_size: int = 1000
    # Every email is also delivered to this SMTP server (smtp://host:port or smtps://...).
    smtp_url: str | None = None
    mail_from: str = "credmock <no-reply@credmock.localhost>"
    # Milliseconds of delay, drawn between the two bounds, added to every contract request.
    latency_ms: tuple[float, float] | None = None

    # Double opt-in: tenants whose signups create an inactive account and email an activation
    # link ("*": every tenant), beside those the fixtures mark ``doubleOptIn: true``.
    double_opt_in: tuple[str, ...] = ()
    signup_confirmation_token_lifetime: int = 86400
    signup_confirmation_link: str = "http://localhost:3000/confirm-signup?tenant={tenant}&token={token}"
    # The mock identity provider (/_mock/idp): the issuer of its tokens (None: the URL it is
    # reached at, http://HOST:PORT/_mock/idp), the audience exchangeauthtoken accepts, and the
    # seconds its authorization codes and tokens live.
    idp_issuer: str | None = None
    idp_audience: str = "storefront"
    idp_code_lifetime: int = 120
    idp_token_lifetime: int = 3600
    # Configurations exchangeauthtoken accepts in ``config`` beside "default".
    exchange_configs: tuple[str, ...] = ()

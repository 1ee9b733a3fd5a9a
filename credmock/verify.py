"""``credmock verify``: probe a deployment (a staging tenant, production, a credmock) and check
every answer against the contract (spec/openapi.yaml) and against what the probe expects.

Without ``--allow-writes`` the probes change nothing: requests without a token or with a
malformed one, bodies that are not JSON, an unknown email, bogus email tokens, wrong passwords.
With ``--allow-writes`` and a test account, the full flows run too (password reset, password
change, email change), each undone at its end; the emailed tokens come from the mock's outbox
(when the target is a credmock) or from ``--token-command``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from credmock.app import CONTRACT_SPEC, load_spec
from credmock.settings import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER

if TYPE_CHECKING:  # openapi-core loads in 0.1 s: imported when verifying, not by every CLI start
    from credmock.contract import ContractChecker

PASS, FAIL, SKIP = "pass", "fail", "skipped"
Verdict = Literal["pass", "fail", "skipped"]
# What the body of an expected error must look like, beyond the contract's (all-optional) schema.
FAULT, ERROR_MESSAGE, NO_BODY = "fault", "ErrorMessage", "none"

PASSWORD_RESET, EMAIL_CHANGE = "password-reset", "email-change"
ANONYMOUS_LOGIN_PATH = "/customerlogin/auth/anonymous/login"
MALFORMED_TOKEN = "credmock-verify/not-a-token"
PASSWORD_ENV = "CREDMOCK_VERIFY_PASSWORD"


class TokenUnavailable(Exception):
    """An emailed token could not be read."""


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, as the probes need it."""

    operation_id: str
    method: str
    path: str  # the template, e.g. /customer/{tenant}/password/reset
    needs_customer_token: bool

    @property
    def label(self) -> str:
        return self.operation_id.removeprefix(f"{self.method.upper()}-customer-")


def contract_operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """The contract's operations by operationId; the security scheme says which token each needs."""
    operations = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            operations[operation["operationId"]] = Operation(
                operation["operationId"], method.upper(), path, "CustomerAccessToken" in schemes
            )
    return operations


REQUEST_RESET = "POST-customer-request-reset-password"
RESET_PASSWORD = "POST-customer-reset-password"
CHANGE_PASSWORD = "POST-customer-change-account-password"
CHANGE_EMAIL = "POST-customer-change-customer-login-email"
CONFIRM_EMAIL = "POST-customer-confirm-customer-login-email"


# The steps of each write flow, in order: (operationId, step). Each step is one row of the report.
PASSWORD_CHANGE_STEPS = [(CHANGE_PASSWORD, "change"), (CHANGE_PASSWORD, "change back")]
EMAIL_CHANGE_STEPS = [
    (CHANGE_EMAIL, "request"),
    (CONFIRM_EMAIL, "confirm"),
    (CONFIRM_EMAIL, "confirm again"),
    (CHANGE_EMAIL, "request back"),
    (CONFIRM_EMAIL, "confirm back"),
]
PASSWORD_RESET_STEPS = [
    (REQUEST_RESET, "request"),
    (RESET_PASSWORD, "reset"),
    (RESET_PASSWORD, "reuse the token"),
    (REQUEST_RESET, "request again"),
    (RESET_PASSWORD, "reset back"),
]


@dataclass
class Outcome:
    """One row of the report."""

    operation: Operation
    probe: str
    expected: int | None
    got: int | None = None
    verdict: Verdict = PASS
    reason: str = ""
    seconds: float = 0.0


@dataclass
class VerifyOptions:
    base_url: str
    tenant: str
    anonymous_token: str | None = None
    customer_token: str | None = None
    client_id: str | None = None
    email: str | None = None
    password: str | None = None
    new_email: str | None = None
    allow_writes: bool = False
    token_command: str | None = None
    timeout: float = 10.0
    control_token: str | None = None  # of a credmock target started with one

    def mock_api_headers(self) -> dict[str, str]:
        """Headers of the calls to a credmock's /_mock API (never sent to the contract's paths)."""
        return {CONTROL_TOKEN_HEADER: self.control_token} if self.control_token else {}


# Emailed tokens ------------------------------------------------------------------------------------


class TokenReader(Protocol):
    description: str

    def mark(self, to: str, kind: str) -> None:
        """Called before the request that sends the email: lets the reader ignore older ones."""

    def token(self, to: str, kind: str) -> str: ...


class OutboxTokens:
    """Reads emailed tokens from a credmock's outbox (GET /_mock/outbox/latest)."""

    description = "the mock's outbox"

    def __init__(
        self,
        client: httpx.Client,
        tenant: str,
        wait_seconds: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.tenant = tenant
        self.headers = headers or {}
        self.wait_seconds = wait_seconds
        self._seen: dict[tuple[str, str], str | None] = {}

    def _latest(self, to: str, kind: str) -> dict[str, Any] | None:
        response = self.client.get(
            "/_mock/outbox/latest",
            params={"tenant": self.tenant, "to": to, "kind": kind},
            headers=self.headers,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TokenUnavailable(f"GET /_mock/outbox/latest answered {response.status_code}")
        return response.json()

    def mark(self, to: str, kind: str) -> None:
        latest = self._latest(to, kind)
        self._seen[(to, kind)] = latest["id"] if latest else None

    def token(self, to: str, kind: str) -> str:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            latest = self._latest(to, kind)
            if latest and latest["id"] != self._seen.get((to, kind)):
                return latest["token"]
            if time.monotonic() > deadline:
                raise TokenUnavailable(f"no new {kind} email to {to} in the outbox")
            time.sleep(0.05)


class CommandTokens:
    """Runs the user's command to read an emailed token from a real mailbox.

    The command gets the recipient and the kind as arguments ($1, $2) and as the environment
    variables CREDMOCK_EMAIL_TO, CREDMOCK_EMAIL_KIND and CREDMOCK_TENANT; it prints the token
    (its last line of output is taken) and exits 0.
    """

    def __init__(self, command: str, tenant: str, timeout: float = 300.0) -> None:
        self.command = command
        self.tenant = tenant
        self.timeout = timeout
        self.description = f"--token-command {command!r}"

    def mark(self, to: str, kind: str) -> None:
        return None

    def token(self, to: str, kind: str) -> str:
        env = {
            **os.environ,
            "CREDMOCK_EMAIL_TO": to,
            "CREDMOCK_EMAIL_KIND": kind,
            "CREDMOCK_TENANT": self.tenant,
        }
        try:
            completed = subprocess.run(
                ["/bin/sh", "-c", self.command, "credmock-token", to, kind],
                capture_output=True,
                text=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TokenUnavailable(f"the token command did not finish within {self.timeout:g} s") from None
        lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        if completed.returncode != 0 or not lines:
            detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
            raise TokenUnavailable(f"the token command exited {completed.returncode}: {detail[0]}")
        return lines[-1]


def is_credmock(client: httpx.Client, headers: dict[str, str] | None = None) -> bool:
    """Whether the target is a credmock: it answers GET /_mock/health with status ok."""
    try:
        response = client.get("/_mock/health", headers=headers or {})
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def contract_checker() -> ContractChecker:
    from credmock.contract import ContractChecker

    return ContractChecker(load_spec(CONTRACT_SPEC))


# The verifier ---------------------------------------------------------------------------------------


@dataclass
class Verifier:
    options: VerifyOptions
    client: httpx.Client
    checker: ContractChecker = field(default_factory=contract_checker)
    operations: dict[str, Operation] = field(
        default_factory=lambda: contract_operations(load_spec(CONTRACT_SPEC))
    )
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.anonymous_token, self._no_anonymous = self._obtain_anonymous_token()
        self.customer_token, self._no_customer = self._obtain_customer_token()

    # Tokens ------------------------------------------------------------------------------------

    def _obtain_anonymous_token(self) -> tuple[str | None, str]:
        options = self.options
        if options.anonymous_token:
            return options.anonymous_token, ""
        if not options.client_id:
            return None, "no anonymous token: give --anonymous-token or --client-id"
        try:
            response = self.client.get(
                ANONYMOUS_LOGIN_PATH, params={"tenant": options.tenant, "client_id": options.client_id}
            )
        except httpx.HTTPError as error:
            return None, f"anonymous login failed: {error!r}"
        return self._token_from(response, f"GET {ANONYMOUS_LOGIN_PATH}", "anonymous")

    def _obtain_customer_token(self) -> tuple[str | None, str]:
        options = self.options
        if options.customer_token:
            return options.customer_token, ""
        if not (options.email and options.password):
            return None, "no customer token: give --customer-token, or --email and --password"
        if not self.anonymous_token:
            return None, "no customer token: the customer login needs an anonymous token"
        path = f"/customer/{options.tenant}/login"
        try:
            response = self.client.post(
                path,
                json={"email": options.email, "password": options.password},
                headers=_bearer(self.anonymous_token),
            )
        except httpx.HTTPError as error:
            return None, f"customer login failed: {error!r}"
        return self._token_from(response, f"POST {path}", "customer")

    def _token_from(self, response: httpx.Response, request: str, kind: str) -> tuple[str | None, str]:
        try:
            token = response.json()["access_token"] if response.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            token = None
        if not token:
            return (
                None,
                f"no {kind} token: {request} answered {response.status_code}: {_snippet(response, 60)}",
            )
        self.notes.append(f"{kind} token obtained with {request}")
        return token, ""

    def token_for(self, operation: Operation) -> tuple[str | None, str]:
        if operation.needs_customer_token:
            return self.customer_token, self._no_customer
        return self.anonymous_token, self._no_anonymous

    # Probes ------------------------------------------------------------------------------------

    def url(self, operation: Operation) -> str:
        return operation.path.replace("{tenant}", self.options.tenant)

    def probe(
        self,
        operation: Operation,
        probe: str,
        expected: int,
        *,
        token: str | None,
        body: bytes | dict[str, Any] | None,
        shape: str = NO_BODY,
    ) -> Outcome:
        """Send one request, check the answer, record the row."""
        outcome = Outcome(operation, probe, expected)
        self.outcomes.append(outcome)
        headers = _bearer(token) if token else {}
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        if content is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self.client.request(
                operation.method, self.url(operation), headers=headers, content=content
            )
        except httpx.HTTPError as error:
            outcome.verdict, outcome.reason = FAIL, f"no answer: {error!r}"
            return outcome
        finally:
            outcome.seconds = time.perf_counter() - started
        outcome.got = response.status_code
        problems = []
        if response.status_code != expected:
            problems.append(f"expected {expected}, got {response.status_code}: {_snippet(response)}")
        problems += [f"contract: {violation}" for violation in self.checker.check_httpx(response)]
        if response.status_code == expected:
            problems += _shape_problems(response, shape)
        if problems:
            outcome.verdict, outcome.reason = FAIL, "; ".join(problems)
        return outcome

    def skip(self, operation: Operation, probe: str, expected: int | None, reason: str) -> None:
        self.outcomes.append(Outcome(operation, probe, expected, verdict=SKIP, reason=reason))

    def authenticated_probe(
        self, operation: Operation, probe: str, expected: int, body: bytes | dict[str, Any], shape: str
    ) -> Outcome | None:
        token, missing = self.token_for(operation)
        if token is None:
            self.skip(operation, probe, expected, missing)
            return None
        return self.probe(operation, probe, expected, token=token, body=body, shape=shape)

    def run_read_only_probes(self) -> None:
        unknown = f"credmock-verify-{secrets.token_hex(6)}@example.com"
        wrong_password = f"wrong-{secrets.token_hex(6)}"
        specific: dict[str, list[tuple[str, int, dict[str, Any], str]]] = {
            REQUEST_RESET: [("unknown email", 204, {"email": unknown}, NO_BODY)],
            RESET_PASSWORD: [
                ("bogus token", 400, {"token": _bogus_token(), "password": _new_password()}, ERROR_MESSAGE)
            ],
            CONFIRM_EMAIL: [("bogus token", 400, {"token": _bogus_token()}, ERROR_MESSAGE)],
            CHANGE_PASSWORD: [
                (
                    "wrong current password",
                    400,
                    {"currentPassword": wrong_password, "newPassword": _new_password()},
                    ERROR_MESSAGE,
                )
            ],
            CHANGE_EMAIL: [
                (
                    "wrong password",
                    400,
                    {"email": self.options.email or unknown, "password": wrong_password, "newEmail": unknown},
                    ERROR_MESSAGE,
                )
            ],
        }
        for operation in self.operations.values():
            self.probe(operation, "no token", 401, token=None, body={}, shape=FAULT)
            self.probe(operation, "malformed token", 401, token=MALFORMED_TOKEN, body={}, shape=FAULT)
            self.authenticated_probe(operation, "invalid JSON body", 400, b'{"email": ', ERROR_MESSAGE)
            for probe, expected, body, shape in specific.get(operation.operation_id, []):
                self.authenticated_probe(operation, probe, expected, body, shape)

    # Flows (--allow-writes) -------------------------------------------------------------------------

    def token_reader(self) -> TokenReader | None:
        if self.options.token_command:
            return CommandTokens(self.options.token_command, self.options.tenant)
        headers = self.options.mock_api_headers()
        if is_credmock(self.client, headers):
            return OutboxTokens(self.client, self.options.tenant, headers=headers)
        return None

    def run_flows(self) -> None:
        options = self.options
        reader = self.token_reader()
        if reader is not None:
            self.notes.append(f"emailed tokens read from {reader.description}")
        email, password = options.email, options.password
        account_missing = (
            "" if email and password else "the flows need the test account: give --email and --password"
        )
        new_email = options.new_email or (_plus_address(email) if email else "")
        flows: list[tuple[str, list[tuple[str, str]], Callable[[Flow], Iterator[None]]]] = [
            (
                "change password and back",
                PASSWORD_CHANGE_STEPS,
                lambda flow: self._password_change_flow(flow, password or ""),
            ),
            (
                "email change and back",
                EMAIL_CHANGE_STEPS,
                lambda flow: self._email_change_flow(flow, reader, email or "", password or "", new_email),
            ),
            (  # last: a reset revokes the customer's access tokens
                "password reset",
                PASSWORD_RESET_STEPS,
                lambda flow: self._password_reset_flow(flow, reader, email or "", password or ""),
            ),
        ]
        for name, steps, run in flows:
            flow = Flow(self, name, steps)
            kinds = {self.operations[operation_id].needs_customer_token for operation_id, _ in steps}
            needs_reader = any(operation_id in {CONFIRM_EMAIL, RESET_PASSWORD} for operation_id, _ in steps)
            reason = account_missing
            if not reason and True in kinds and self.customer_token is None:
                reason = self._no_customer
            if not reason and False in kinds and self.anonymous_token is None:
                reason = self._no_anonymous
            if not reason and needs_reader and reader is None:
                reason = (
                    "the target is not a credmock (or its /_mock API needs --control-token): "
                    "give --token-command to read the emailed tokens"
                )
            if reason:
                flow.skip_rest(reason)
                continue
            for _ in run(flow):
                if flow.failed:
                    break
            flow.skip_rest("an earlier step of this flow failed")

    # Each flow is a generator that yields after every step (and after reading an emailed token),
    # so that run_flows stops it at the first failure.

    def _password_change_flow(self, flow: Flow, password: str) -> Iterator[None]:
        temporary = _new_password()
        yield flow.step(204, self.customer_token, {"currentPassword": password, "newPassword": temporary})
        flow.undo_hint = f"the account's password is now {temporary!r}"
        yield flow.step(204, self.customer_token, {"currentPassword": temporary, "newPassword": password})

    def _email_change_flow(
        self, flow: Flow, reader: TokenReader | None, email: str, password: str, new_email: str
    ) -> Iterator[None]:
        assert reader is not None
        for current, target in ((email, new_email), (new_email, email)):
            reader.mark(target, EMAIL_CHANGE)
            body = {"email": current, "password": password, "newEmail": target}
            yield flow.step(204, self.customer_token, body)
            token = flow.emailed_token(reader, target, EMAIL_CHANGE)
            yield
            yield flow.step(204, self.anonymous_token, {"token": token})
            flow.undo_hint = f"the account's login email is now {target!r}" if target != email else ""
            if current == email:
                yield flow.step(400, self.anonymous_token, {"token": token}, ERROR_MESSAGE)

    def _password_reset_flow(
        self, flow: Flow, reader: TokenReader | None, email: str, password: str
    ) -> Iterator[None]:
        assert reader is not None
        temporary = _new_password()
        for target_password in (temporary, password):
            reader.mark(email, PASSWORD_RESET)
            yield flow.step(204, self.anonymous_token, {"email": email})
            token = flow.emailed_token(reader, email, PASSWORD_RESET)
            yield
            yield flow.step(204, self.anonymous_token, {"token": token, "password": target_password})
            flow.undo_hint = (
                f"the account's password is now {temporary!r}" if target_password != password else ""
            )
            if target_password == temporary:
                body = {"token": token, "password": _new_password()}
                yield flow.step(400, self.anonymous_token, body, ERROR_MESSAGE)

    def run(self) -> list[Outcome]:
        self.run_read_only_probes()
        if self.options.allow_writes:
            self.run_flows()
        return self.outcomes


class Flow:
    """The steps of one write flow, run in order: each is a probe row; a failure ends the flow."""

    def __init__(self, verifier: Verifier, name: str, steps: list[tuple[str, str]]) -> None:
        self.verifier = verifier
        self.name = name
        self.pending = list(steps)
        self.failed = False
        self.undo_hint = ""

    def _next(self) -> tuple[Operation, str]:
        operation_id, step = self.pending.pop(0)
        return self.verifier.operations[operation_id], f"{self.name}: {step}"

    def step(self, expected: int, token: str | None, body: dict[str, Any], shape: str = NO_BODY) -> None:
        operation, probe = self._next()
        outcome = self.verifier.probe(operation, probe, expected, token=token, body=body, shape=shape)
        if outcome.verdict == FAIL:
            self.failed = True
            if self.undo_hint:
                outcome.reason += f" ({self.undo_hint}: restore it by hand)"

    def emailed_token(self, reader: TokenReader, to: str, kind: str) -> str:
        """The token of the email just sent; on failure the step that needs it fails."""
        try:
            return reader.token(to, kind)
        except (TokenUnavailable, httpx.HTTPError) as error:
            operation, probe = self._next()
            reason = f"could not read the emailed token: {error}"
            if self.undo_hint:
                reason += f" ({self.undo_hint}: restore it by hand)"
            self.verifier.outcomes.append(Outcome(operation, probe, 204, verdict=FAIL, reason=reason))
            self.failed = True
            return ""

    def skip_rest(self, reason: str) -> None:
        while self.pending:
            operation, probe = self._next()
            self.verifier.skip(operation, probe, None, reason)


# Helpers --------------------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _bogus_token() -> str:
    return "credmock-verify-bogus-" + secrets.token_hex(16)


def _new_password() -> str:
    """A password most policies accept: long, upper and lower case, digits, a symbol."""
    return f"Cm-verify-{secrets.token_hex(6)}-9X!"


def _plus_address(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}+credmock-verify-{secrets.token_hex(3)}@{domain}"


def _snippet(response: httpx.Response, length: int = 100) -> str:
    text = response.text.strip().replace("\n", " ")
    return repr(text[:length] + ("..." if len(text) > length else "")) if text else "(no body)"


def _shape_problems(response: httpx.Response, shape: str) -> list[str]:
    """What the probe expects of the body beyond the contract's schema, whose fields are all optional."""
    if shape == NO_BODY:
        return []
    try:
        body = response.json()
    except ValueError:
        return [f"the {shape} body is not JSON"]
    if shape == FAULT:
        fault = body.get("fault") if isinstance(body, dict) else None
        if not isinstance(fault, dict) or not isinstance(fault.get("faultstring"), str):
            return [f"expected Apigee's fault body with fault.faultstring, got {_snippet(response)}"]
        return []
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return [f"expected an ErrorMessage with a message, got {_snippet(response)}"]
    if "status" in body and body["status"] != response.status_code:
        return [f"ErrorMessage.status {body['status']!r} differs from the HTTP status {response.status_code}"]
    return []


# Report ---------------------------------------------------------------------------------------------


def format_table(outcomes: list[Outcome]) -> str:
    rows = [("OPERATION", "PROBE", "EXPECTED", "GOT", "VERDICT")]
    for outcome in outcomes:
        verdict = outcome.verdict.upper() if outcome.verdict != SKIP else "SKIP"
        rows.append(
            (
                outcome.operation.label,
                outcome.probe,
                str(outcome.expected or "-"),
                str(outcome.got or "-"),
                f"{verdict}  {outcome.reason}".rstrip(),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
             for row in rows]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)


def summary(outcomes: list[Outcome]) -> str:
    counts = {verdict: sum(1 for o in outcomes if o.verdict == verdict) for verdict in (PASS, FAIL, SKIP)}
    return f"{len(outcomes)} probes: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped"


def junit_xml(outcomes: list[Outcome], base_url: str) -> bytes:
    """A JUnit report: one testsuite, one testcase per probe (classname: the operationId)."""
    suite = ET.Element(
        "testsuite",
        name=f"credmock verify {base_url}",
        tests=str(len(outcomes)),
        failures=str(sum(1 for o in outcomes if o.verdict == FAIL)),
        errors="0",
        skipped=str(sum(1 for o in outcomes if o.verdict == SKIP)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        expected = outcome.expected or "-"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=outcome.operation.operation_id,
            name=f"{outcome.probe} -> {expected}",
            time=f"{outcome.seconds:.3f}",
        )
        if outcome.verdict == FAIL:
            ET.SubElement(case, "failure", message=outcome.reason, type="contract").text = outcome.reason
        elif outcome.verdict == SKIP:
            ET.SubElement(case, "skipped", message=outcome.reason)
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# Command --------------------------------------------------------------------------------------------


def verify(options: VerifyOptions) -> list[Outcome]:
    with httpx.Client(base_url=options.base_url, timeout=options.timeout, follow_redirects=False) as client:
        verifier = Verifier(options, client)
        outcomes = verifier.run()
    for note in verifier.notes:
        print(f"credmock verify: {note}", file=sys.stderr)
    return outcomes


def run_verify_command(arguments: argparse.Namespace) -> int:
    options = VerifyOptions(
        base_url=arguments.base_url.rstrip("/"),
        tenant=arguments.tenant,
        anonymous_token=arguments.anonymous_token,
        customer_token=arguments.customer_token,
        client_id=arguments.client_id,
        email=arguments.email,
        password=arguments.password or os.environ.get(PASSWORD_ENV),
        new_email=arguments.new_email,
        allow_writes=arguments.allow_writes,
        token_command=arguments.token_command,
        timeout=arguments.timeout,
        control_token=arguments.control_token,
    )
    outcomes = verify(options)
    print(format_table(outcomes))
    print(summary(outcomes))
    if arguments.junit:
        arguments.junit.write_bytes(junit_xml(outcomes, options.base_url))
    return 1 if any(outcome.verdict == FAIL for outcome in outcomes) else 0


def add_verify_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "verify",
        help="probe a deployment and check its answers against the contract",
        description="Probe the five credential operations of a deployment and check every answer "
        "against the contract. Exit status 1 on any violation.",
    )
    parser.add_argument(
        "--base-url", required=True, help="e.g. https://api.emporix.io or http://127.0.0.1:8080"
    )
    parser.add_argument("--tenant", required=True)
    tokens = parser.add_argument_group("tokens (given, or obtained by the tool)")
    tokens.add_argument("--anonymous-token")
    tokens.add_argument("--customer-token")
    tokens.add_argument("--client-id", help=f"storefront client ID: GET {ANONYMOUS_LOGIN_PATH} for a token")
    tokens.add_argument("--email", help="the test account's login email (customer login, flows)")
    tokens.add_argument("--password", help=f"the test account's password (default: ${PASSWORD_ENV})")
    writes = parser.add_argument_group("full flows (change the test account, then undo)")
    writes.add_argument("--allow-writes", action="store_true", help="run the password and email flows")
    writes.add_argument(
        "--token-command",
        metavar="CMD",
        help="shell command printing an emailed token; gets the recipient and kind as $1 $2 "
        "(and CREDMOCK_EMAIL_TO, CREDMOCK_EMAIL_KIND); default for a credmock: its outbox",
    )
    writes.add_argument("--new-email", help="temporary address of the email flow (default: a +alias)")
    writes.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV) or None,
        help=f"the control token of a credmock target, for its outbox (default: ${CONTROL_TOKEN_ENV})",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request")
    parser.set_defaults(run=run_verify_command)

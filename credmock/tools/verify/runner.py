"""Running a verification: the tokens, one request per row, each answer checked; the probes and
flows of :mod:`credmock.tools.verify.steps` run by one loop each."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from credmock.app import CONTRACT_SPEC, load_spec
from credmock.tools.verify.model import (
    ERROR_MESSAGE,
    FAIL,
    FAULT,
    NO_BODY,
    SKIP,
    Operation,
    Outcome,
    Verdict,
    VerifyOptions,
    contract_operations,
)
from credmock.tools.verify.steps import (
    BAD_TOKEN,
    COMMON_PROBES,
    FLOWS,
    MALFORMED_TOKEN,
    NO_TOKEN,
    OPERATION_PROBES,
    Body,
    Flow,
    FlowState,
)
from credmock.tools.verify.tokens import (
    CommandTokens,
    OutboxTokens,
    TokenReader,
    TokenUnavailable,
    is_credmock,
)

if TYPE_CHECKING:  # openapi-core loads in 0.1 s: imported when verifying, not by every CLI start
    from credmock.tools.contract import ContractChecker

ANONYMOUS_LOGIN_PATH = "/customerlogin/auth/anonymous/login"
FLOW_FAILED = "an earlier step of this flow failed"


def contract_checker() -> ContractChecker:
    from credmock.tools.contract import ContractChecker

    return ContractChecker(load_spec(CONTRACT_SPEC))


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
        email = self.options.email or ""
        self.state = FlowState(
            email=email,
            password=self.options.password or "",
            new_email=self.options.new_email or (_plus_address(email) if email else ""),
        )

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
        """The token the operation's security asks for, or None and why there is none."""
        if operation.needs_customer_token:
            return self.customer_token, self._no_customer
        return self.anonymous_token, self._no_anonymous

    # One row -----------------------------------------------------------------------------------

    def url(self, operation: Operation) -> str:
        return operation.path.replace("{tenant}", self.options.tenant)

    def probe(
        self,
        operation: Operation,
        label: str,
        expected: int,
        *,
        token: str | None,
        body: bytes | dict[str, Any] | None,
        shape: str = NO_BODY,
    ) -> Outcome:
        """Send one request, check the answer, record the row."""
        outcome = Outcome(operation, label, expected)
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

    def record(
        self, operation: Operation, label: str, expected: int | None, verdict: Verdict, reason: str
    ) -> None:
        """A row without a request: a skipped probe, or a step that failed before sending."""
        self.outcomes.append(Outcome(operation, label, expected, verdict=verdict, reason=reason))

    def _body(self, body: Body) -> bytes | dict[str, Any]:
        return body if isinstance(body, bytes) else body(self.state)

    # Read-only probes --------------------------------------------------------------------------

    def run_read_only_probes(self) -> None:
        for operation in self.operations.values():
            for probe in (*COMMON_PROBES, *OPERATION_PROBES.get(operation.operation_id, ())):
                if probe.token == NO_TOKEN:
                    token: str | None = None
                elif probe.token == BAD_TOKEN:
                    token = MALFORMED_TOKEN
                else:
                    token, missing = self.token_for(operation)
                    if token is None:
                        self.record(operation, probe.label, probe.expected, SKIP, missing)
                        continue
                body = self._body(probe.body)
                self.probe(operation, probe.label, probe.expected, token=token, body=body, shape=probe.shape)

    # Write flows (--allow-writes) ----------------------------------------------------------------

    def token_reader(self) -> TokenReader | None:
        if self.options.token_command:
            return CommandTokens(self.options.token_command, self.options.tenant)
        headers = self.options.mock_api_headers()
        if is_credmock(self.client, headers):
            return OutboxTokens(self.client, self.options.tenant, headers=headers)
        return None

    def why_not(self, flow: Flow, reader: TokenReader | None) -> str:
        """Why the flow cannot run here, or empty."""
        if not (self.options.email and self.options.password):
            return "the flows need the test account: give --email and --password"
        for step in flow.steps:
            token, missing = self.token_for(self.operations[step.operation_id])
            if token is None:
                return missing
        if flow.reads_emails and reader is None:
            return (
                "the target is not a credmock (or its /_mock API needs --control-token): "
                "give --token-command to read the emailed tokens"
            )
        return ""

    def run_flows(self) -> None:
        reader = self.token_reader()
        if reader is not None:
            self.notes.append(f"emailed tokens read from {reader.description}")
        for flow in FLOWS:
            self.run_flow(flow, reader, self.why_not(flow, reader))

    def run_flow(self, flow: Flow, reader: TokenReader | None, skip_reason: str) -> None:
        """The steps in order; once one fails (or the flow cannot run) the rest are skipped."""
        state, account_left = self.state, ""
        for step in flow.steps:
            operation = self.operations[step.operation_id]
            label = f"{flow.name}: {step.label}"
            if skip_reason:
                self.record(operation, label, None, SKIP, skip_reason)
                continue
            restore = f" ({account_left}: restore it by hand)" if account_left else ""
            if step.mark and reader is not None:
                recipient, kind = step.mark
                reader.mark(recipient(state), kind)
            if step.emailed and reader is not None:
                recipient, kind = step.emailed
                try:
                    state.emailed_token = reader.token(recipient(state), kind)
                except (TokenUnavailable, httpx.HTTPError) as error:
                    reason = f"could not read the emailed token: {error}{restore}"
                    self.record(operation, label, step.expected, FAIL, reason)
                    skip_reason = FLOW_FAILED
                    continue
            token, _ = self.token_for(operation)
            outcome = self.probe(
                operation, label, step.expected, token=token, body=step.body(state), shape=step.shape
            )
            if outcome.verdict == FAIL:
                outcome.reason += restore
                skip_reason = FLOW_FAILED
            elif step.leaves is not None:
                account_left = step.leaves(state)

    def run(self) -> list[Outcome]:
        self.run_read_only_probes()
        if self.options.allow_writes:
            self.run_flows()
        return self.outcomes


# Helpers --------------------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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
        return [f"expected an {ERROR_MESSAGE} with a message, got {_snippet(response)}"]
    if "status" in body and body["status"] != response.status_code:
        return [f"ErrorMessage.status {body['status']!r} differs from the HTTP status {response.status_code}"]
    return []

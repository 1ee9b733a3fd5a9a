"""Running a verification: the tokens, one request per row, each answer checked; the probes,
the generated negatives and the flows run by one loop each."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from credmock.app import CONTRACT_SPEC, load_served_spec
from credmock.tools.verify.generate import (
    BAD_TOKEN,
    NO_TOKEN,
    OTHER_TENANT_TOKEN,
    WRONG_KIND_TOKEN,
    NegativeCase,
    bounded,
    example,
    negative_cases,
)
from credmock.tools.verify.model import (
    ANONYMOUS,
    CUSTOMER,
    ERROR_MESSAGE,
    FAIL,
    FAULT,
    NO_BODY,
    SKIP,
    SKIP_FAILED,
    SKIP_NOT_GIVEN,
    Exchange,
    Operation,
    Outcome,
    VerifyOptions,
    served_operations,
)
from credmock.tools.verify.steps import FLOWS, PROBES, VALID_BODIES, VALID_QUERIES, Flow, FlowState, Step
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
MALFORMED_TOKEN = "credmock-verify/not-a-token"
OTHER_TENANT_OF_A_CREDMOCK = "credmockother"
SHOWN_BYTES = 4000  # of a body, in the reports


def contract_checker() -> ContractChecker:
    from credmock.tools.contract import ContractChecker

    return ContractChecker(load_served_spec(CONTRACT_SPEC))


@dataclass
class Missing:
    """Why a token is not there, and whether that is a failure (login refused) or a choice."""

    reason: str
    kind: str = SKIP_NOT_GIVEN


@dataclass
class Verifier:
    options: VerifyOptions
    client: httpx.Client
    checker: ContractChecker = field(default_factory=contract_checker)
    operations: dict[str, Operation] = field(
        default_factory=lambda: served_operations(load_served_spec(CONTRACT_SPEC))
    )
    token_reader_override: TokenReader | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        options = self.options
        email = options.email or ""
        self.state = FlowState(
            email=email,
            password=options.password or "",
            new_email=options.new_email or (_plus_address(email) if email else ""),
            tenant=options.tenant,
            client_id=options.client_id or "",
        )
        self.credmock = is_credmock(self.client, options.mock_api_headers())
        self.anonymous_token, self._no_anonymous = self._obtain_anonymous_token()
        self.state.anonymous_token = self.anonymous_token or ""
        self.customer_token, self._no_customer = self._obtain_customer_token()
        self.other_tenant_token, self._no_other_tenant = self._obtain_other_tenant_token()

    # Tokens ------------------------------------------------------------------------------------

    def _anonymous_login(self, tenant: str) -> tuple[dict[str, Any] | None, Missing | None]:
        request = f"GET {ANONYMOUS_LOGIN_PATH}?tenant={tenant}"
        try:
            response = self.client.get(
                ANONYMOUS_LOGIN_PATH, params={"tenant": tenant, "client_id": self.options.client_id}
            )
        except httpx.HTTPError as error:
            return None, Missing(f"anonymous login failed: {error!r}", SKIP_FAILED)
        return self._token_answer(response, request, "anonymous")

    def _obtain_anonymous_token(self) -> tuple[str | None, Missing]:
        options = self.options
        if options.anonymous_token:
            return options.anonymous_token, Missing("")
        if not options.client_id:
            return None, Missing("no anonymous token: give --anonymous-token or --client-id")
        answer, missing = self._anonymous_login(options.tenant)
        if answer is None:
            return None, missing or Missing("")
        self.state.anonymous_refresh_token = answer.get("refresh_token") or ""
        return answer["access_token"], Missing("")

    def _obtain_customer_token(self) -> tuple[str | None, Missing]:
        options = self.options
        if options.customer_token:
            return options.customer_token, Missing("")
        if not (options.email and options.password):
            return None, Missing("no customer token: give --customer-token, or --email and --password")
        if not self.anonymous_token:
            return None, Missing(
                "no customer token: the customer login needs an anonymous token", self._no_anonymous.kind
            )
        # A login continues the session of the anonymous token it is sent with, and the session
        # flow ends its session with a logout: the customer token gets an anonymous session of
        # its own where one can be had, so the probes after that flow keep a live token.
        session_token = self.anonymous_token
        if options.client_id and not options.anonymous_token:
            answer, _ = self._anonymous_login(options.tenant)
            session_token = answer["access_token"] if answer else session_token
        path = f"/customer/{options.tenant}/login"
        try:
            response = self.client.post(
                path,
                json={"email": options.email, "password": options.password},
                headers=_bearer(session_token),
            )
        except httpx.HTTPError as error:
            return None, Missing(f"customer login failed: {error!r}", SKIP_FAILED)
        answer, missing = self._token_answer(response, f"POST {path}", "customer")
        return (answer["access_token"], Missing("")) if answer else (None, missing or Missing(""))

    def _obtain_other_tenant_token(self) -> tuple[str | None, Missing]:
        options = self.options
        if options.other_tenant_token:
            return options.other_tenant_token, Missing("")
        tenant = options.other_tenant or (OTHER_TENANT_OF_A_CREDMOCK if self.credmock else None)
        if not tenant:
            return None, Missing("no token of another tenant: give --other-tenant or --other-tenant-token")
        if not options.client_id:
            return None, Missing("no token of another tenant: its anonymous login needs --client-id")
        answer, missing = self._anonymous_login(tenant)
        return (answer["access_token"], Missing("")) if answer else (None, missing or Missing(""))

    def _token_answer(
        self, response: httpx.Response, request: str, kind: str
    ) -> tuple[dict[str, Any] | None, Missing | None]:
        try:
            answer = response.json() if response.status_code == 200 else None
            token = answer["access_token"] if answer else None
        except (ValueError, KeyError, TypeError):
            answer, token = None, None
        if not token:
            reason = f"no {kind} token: {request} answered {response.status_code}: {_snippet(response, 60)}"
            return None, Missing(reason, SKIP_FAILED)
        self.notes.append(f"{kind} token obtained with {request}")
        return answer, None

    def token_for(self, operation: Operation) -> tuple[str | None, Missing]:
        """The token the operation's security asks for (a customer one where either will do and
        there is one), or None and why there is none."""
        if not operation.secured:
            return None, Missing("")
        if CUSTOMER in operation.schemes and (self.customer_token or ANONYMOUS not in operation.schemes):
            return self.customer_token, self._no_customer
        return self.anonymous_token, self._no_anonymous

    def case_token(self, operation: Operation, case: NegativeCase) -> tuple[str | None, Missing | None]:
        """The token a generated case sends, or a reason to skip it."""
        if case.token == NO_TOKEN:
            return None, None
        if case.token == BAD_TOKEN:
            return MALFORMED_TOKEN, None
        if case.token == WRONG_KIND_TOKEN:
            return (self.anonymous_token, None) if self.anonymous_token else (None, self._no_anonymous)
        if case.token == OTHER_TENANT_TOKEN:
            return (
                (self.other_tenant_token, None) if self.other_tenant_token else (None, self._no_other_tenant)
            )
        token, missing = self.token_for(operation)
        return (token, None) if token or not operation.secured else (None, missing)

    # One row -----------------------------------------------------------------------------------

    def url(self, operation: Operation) -> str:
        """The operation's path with its parameters: the tenant, the address the flow works on,
        and for any other one a value no resource has."""
        values = {"tenant": self.options.tenant, "addressId": self.state.address_id}
        return re.sub(
            r"\{([^}]+)\}",
            lambda match: quote(
                values.get(match.group(1), f"credmock-verify-unknown-{match.group(1)}"), safe=""
            ),
            operation.path,
        )

    def probe(
        self,
        operation: Operation,
        label: str,
        expected: int | None,
        *,
        token: str | None,
        body: Any = None,
        query: dict[str, str] | None = None,
        shape: str = NO_BODY,
        generated: bool = False,
    ) -> Outcome:
        """Send one request, check the answer, record the row. ``expected`` None: any refusal the
        operation declares will do, with the body its status declares."""
        outcome = Outcome(operation, label, expected, generated=generated)
        if expected is None:
            outcome.accepted = operation.refusals
        self.outcomes.append(outcome)
        headers = _bearer(token) if token else {}
        content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        url = self.url(operation)
        outcome.exchange = Exchange(
            operation.method,
            url + (f"?{httpx.QueryParams(query)}" if query else ""),
            {name: _masked(name, value) for name, value in headers.items()},
            _shown(content or b""),
        )
        started = time.perf_counter()
        try:
            response = self.client.request(
                operation.method, url, headers=headers, content=content, params=query
            )
        except httpx.HTTPError as error:
            outcome.verdict, outcome.reason = FAIL, f"no answer: {error!r}"
            return outcome
        finally:
            outcome.seconds = time.perf_counter() - started
        outcome.got = response.status_code
        outcome.exchange.status = response.status_code
        outcome.exchange.response_headers = dict(response.headers)
        outcome.exchange.response_body = _shown(response.content)
        try:
            outcome.response_json = response.json() if response.content else None
        except ValueError:
            outcome.response_json = None
        problems = []
        if expected is not None and response.status_code != expected:
            problems.append(f"expected {expected}, got {response.status_code}: {_snippet(response)}")
        if expected is None and response.status_code not in outcome.accepted:
            declared = ", ".join(str(status) for status in sorted(outcome.accepted))
            problems.append(
                f"expected a refusal the operation declares ({declared}), got "
                f"{response.status_code}: {_snippet(response)}"
            )
        problems += [f"contract: {violation}" for violation in self.checker.check_httpx(response)]
        if expected is None and response.status_code in outcome.accepted:
            shape = FAULT if response.status_code == 401 else ERROR_MESSAGE
        if response.status_code == expected or expected is None:
            problems += _shape_problems(response, shape)
        if problems:
            outcome.verdict, outcome.reason = FAIL, "; ".join(problems)
        return outcome

    def record(self, operation: Operation, label: str, expected: int | None, missing: Missing) -> Outcome:
        """A skipped row: no request sent."""
        outcome = Outcome(
            operation, label, expected, verdict=SKIP, reason=missing.reason, skip_kind=missing.kind
        )
        self.outcomes.append(outcome)
        return outcome

    def fail(self, operation: Operation, label: str, expected: int | None, reason: str) -> None:
        """A row of a step that failed before sending."""
        self.outcomes.append(Outcome(operation, label, expected, verdict=FAIL, reason=reason))

    def run_step(self, step: Step, label: str) -> Outcome:
        operation = self.operations[step.operation_id]
        why_not = step.needs(self.state) if step.needs else ""
        if why_not:
            return self.record(operation, label, step.expected, Missing(why_not))
        if step.token is not None:
            token: str | None = step.token(self.state)
            missing = self._no_anonymous if token is None else Missing("")
        else:
            token, missing = self.token_for(operation)
        if token is None and operation.secured:
            return self.record(operation, label, step.expected, missing)
        body = step.body if isinstance(step.body, bytes) or step.body is None else step.body(self.state)
        query = step.query(self.state) if step.query else None
        outcome = self.probe(
            operation, label, step.expected, token=token, body=body, query=query, shape=step.shape
        )
        if outcome.verdict != FAIL and step.keep is not None:
            step.keep(self.state, outcome.response_json)
        return outcome

    # Read-only probes and generated negatives ---------------------------------------------------

    def run_read_only_probes(self) -> None:
        for operation_id, probes in PROBES.items():
            if operation_id in self.operations:
                for step in probes:
                    self.run_step(step, step.label)

    def valid_request(self, operation: Operation) -> tuple[Any, dict[str, str]]:
        body = None
        if operation.body_schema is not None:
            build = VALID_BODIES.get(operation.operation_id)
            body = build(self.state) if build else example(operation.body_schema)
        query_of = VALID_QUERIES.get(operation.operation_id)
        query = (
            query_of(self.state)
            if query_of
            else {
                p.name: str(example(p.schema, p.name))
                for p in operation.parameters
                if p.location == "query" and p.required
            }
        )
        return body, query

    def run_generated_probes(self) -> None:
        plans = []
        for operation in self.operations.values():
            body, query = self.valid_request(operation)
            plans.append((operation, body, query, negative_cases(operation, body, query)))
        kept = bounded([plan[3] for plan in plans], self.options.max_generated)
        for (operation, body, query, _), cases in zip(plans, kept, strict=True):
            for case in cases:
                label = f"generated: {case.label}"
                token, missing = self.case_token(operation, case)
                if missing is not None:
                    skipped = self.record(operation, label, None, missing)
                    skipped.accepted, skipped.generated = operation.refusals, True
                    continue
                sent = None if case.drop_body else (case.body if case.body is not None else body)
                self.probe(
                    operation,
                    label,
                    None,
                    token=token,
                    body=sent,
                    query=case.query if case.query is not None else query,
                    generated=True,
                )

    # Flows -------------------------------------------------------------------------------------

    def token_reader(self) -> TokenReader | None:
        if self.token_reader_override is not None:
            return self.token_reader_override
        if self.options.mailbox:
            from credmock.tools.verify.mailbox import ImapTokens

            return ImapTokens.from_url(
                self.options.mailbox, self.options.mailbox_password, self.options.mail_wait
            )
        if self.options.token_command:
            return CommandTokens(self.options.token_command, self.options.tenant)
        headers = self.options.mock_api_headers()
        if self.credmock:
            return OutboxTokens(self.client, self.options.tenant, headers=headers)
        return None

    def why_not(self, flow: Flow, reader: TokenReader | None) -> Missing | None:
        """Why the flow cannot run here, or None."""
        if not (self.options.email and self.options.password):
            return Missing("the flows need the test account: give --email and --password")
        if self.customer_token is None:
            return self._no_customer
        for step in flow.steps:
            if step.token is None:
                token, missing = self.token_for(self.operations[step.operation_id])
                if token is None:
                    return missing
        if flow.reads_emails and reader is None:
            return Missing(
                "the target is not a credmock (or its /_mock API needs --control-token): "
                "give --mailbox or --token-command to read the emailed tokens"
            )
        return None

    def run_flows(self, writes: bool) -> None:
        flows = [flow for flow in FLOWS if flow.writes == writes]
        reader = self.token_reader() if writes else None
        if reader is not None:
            self.notes.append(f"emailed tokens read from {reader.description}")
        for flow in flows:
            self.run_flow(flow, reader, self.why_not(flow, reader))

    def run_flow(self, flow: Flow, reader: TokenReader | None, skip: Missing | None) -> None:
        """The steps in order; once one fails (or the flow cannot run) the rest are skipped."""
        state, account_left = self.state, ""
        for step in flow.steps:
            operation = self.operations[step.operation_id]
            label = f"{flow.name}: {step.label}"
            if skip is not None:
                self.record(operation, label, step.expected, skip)
                continue
            restore = f" ({account_left}: restore it by hand)" if account_left else ""
            try:
                if step.mark and reader is not None:
                    recipient, kind = step.mark
                    reader.mark(recipient(state), kind)
                if step.emailed and reader is not None:
                    recipient, kind = step.emailed
                    state.emailed_token = reader.token(recipient(state), kind)
            except (TokenUnavailable, httpx.HTTPError) as error:
                self.fail(
                    operation, label, step.expected, f"could not read the emailed token: {error}{restore}"
                )
                skip = Missing(FLOW_FAILED, SKIP_FAILED)
                continue
            outcome = self.run_step(step, label)
            if outcome.verdict == FAIL:
                outcome.reason += restore
                skip = Missing(FLOW_FAILED, SKIP_FAILED)
            elif outcome.verdict == SKIP:
                skip = Missing(
                    FLOW_FAILED if outcome.skip_kind == SKIP_FAILED else outcome.reason, outcome.skip_kind
                )
            elif step.leaves is not None:
                account_left = step.leaves(state)

    def run(self) -> list[Outcome]:
        self.run_read_only_probes()
        self.run_generated_probes()
        self.run_flows(writes=False)
        if self.options.allow_writes:
            self.run_flows(writes=True)
        return self.outcomes


# Helpers --------------------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _masked(name: str, value: str) -> str:
    """A credential shown by its first characters only: reports are shared."""
    if name.lower() != "authorization":
        return value
    scheme, _, token = value.partition(" ")
    return f"{scheme} {token[:6]}…" if len(token) > 6 else value


def _shown(content: bytes) -> str:
    text = content[:SHOWN_BYTES].decode("utf-8", errors="replace")
    return text + ("…" if len(content) > SHOWN_BYTES else "")


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

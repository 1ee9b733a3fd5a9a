"""The ``credmock verify`` command: options in, a report out. Exit 0 when every probe passed;
1 on any violation, on a probe skipped because a credential or a mailbox failed (unless
``--allow-skips``) and on drift with ``--fail-on-drift``; 2 when the target cannot be reached or
an option is wrong."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import httpx

from credmock.settings import CONTROL_TOKEN_ENV
from credmock.tools.option_checks import MAIL_WAIT_LIMIT, add_upstream_timeout, wait_seconds
from credmock.tools.verify.model import FAIL, SKIP, SKIP_FAILED, Outcome, VerifyOptions
from credmock.tools.verify.report import (
    format_table,
    html_report,
    json_report,
    junit_xml,
    summary,
    unreachable_junit_xml,
)
from credmock.tools.verify.runner import ANONYMOUS_LOGIN_PATH, Verifier

PASSWORD_ENV = "CREDMOCK_VERIFY_PASSWORD"
MAILBOX_PASSWORD_ENV = "CREDMOCK_MAILBOX_PASSWORD"
EXIT_CONFORMING, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2
EXIT_UNREACHABLE = EXIT_UNUSABLE


class Unreachable(Exception):
    """The target answered nothing at all: refused, unknown host, timed out, not HTTP."""


class WrongOption(Exception):
    """An option that cannot work (checked before any request)."""


def unreachable_reason(error: httpx.HTTPError, timeout: float) -> str:
    """One line a person reads: ``connection refused``, not ``ConnectError('[Errno 111] ...')``."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error).strip()) or type(error).__name__
    return reason[0].lower() + reason[1:]


def check_reachable(client: httpx.Client, options: VerifyOptions) -> None:
    """Any HTTP answer will do (a 404 too): only a target that answers nothing is unreachable."""
    try:
        client.get("/")
    except httpx.HTTPError as error:
        raise Unreachable(unreachable_reason(error, options.timeout)) from None


def verify(options: VerifyOptions) -> list[Outcome]:
    with httpx.Client(base_url=options.base_url, timeout=options.timeout, follow_redirects=False) as client:
        check_reachable(client, options)
        verifier = Verifier(options, client)
        outcomes = verifier.run()
    for note in verifier.notes:
        print(f"credmock verify: {note}", file=sys.stderr)
    return outcomes


def exit_status(
    outcomes: list[Outcome], *, allow_skips: bool, drift: int = 0, fail_on_drift: bool = False
) -> int:
    if any(outcome.verdict == FAIL for outcome in outcomes):
        return EXIT_VIOLATIONS
    if not allow_skips and any(o.verdict == SKIP and o.skip_kind == SKIP_FAILED for o in outcomes):
        return EXIT_VIOLATIONS
    if fail_on_drift and drift:
        return EXIT_VIOLATIONS
    return EXIT_CONFORMING


def options_from(arguments: argparse.Namespace) -> VerifyOptions:
    if arguments.mailbox and arguments.token_command:
        raise WrongOption("give --mailbox or --token-command, not both")
    if arguments.fail_on_drift and not arguments.compare_mock:
        raise WrongOption("--fail-on-drift needs --compare-mock")
    if arguments.max_generated is not None and arguments.max_generated < 0:
        raise WrongOption("--max-generated must be 0 or more")
    if not re.match(r"^https?://[^/]+", arguments.base_url):
        raise WrongOption(f"--base-url {arguments.base_url!r} is not an http:// or https:// URL")
    mailbox_password = None
    if arguments.mailbox:
        from credmock.tools.verify.mailbox import MailboxError, parse_mailbox_url

        try:
            parse_mailbox_url(arguments.mailbox)
        except MailboxError as error:
            raise WrongOption(str(error)) from None
        mailbox_password = os.environ.get(arguments.mailbox_password_env)
        if not mailbox_password:
            raise WrongOption(f"--mailbox needs its password in ${arguments.mailbox_password_env}")
    return VerifyOptions(
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
        mailbox=arguments.mailbox,
        mailbox_password=mailbox_password,
        timeout=arguments.timeout,
        control_token=arguments.control_token,
        other_tenant=arguments.other_tenant,
        other_tenant_token=arguments.other_tenant_token,
        max_generated=arguments.max_generated,
        mail_wait=arguments.mail_wait,
    )


def run_verify_command(arguments: argparse.Namespace) -> int:
    try:
        options = options_from(arguments)
    except WrongOption as wrong:
        print(f"credmock verify: {wrong}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        outcomes = verify(options)
    except Unreachable as unreachable:
        print(f"credmock verify: cannot reach {options.base_url}: {unreachable}", file=sys.stderr)
        if arguments.junit:
            arguments.junit.write_bytes(unreachable_junit_xml(options.base_url, str(unreachable)))
        return EXIT_UNREACHABLE
    print(format_table(outcomes))
    print(summary(outcomes))
    drift = None
    if arguments.compare_mock:
        from credmock.tools.verify.drift import compare, run_against_mock

        drift = compare(outcomes, run_against_mock(options))
        print(f"drift against the mock: {len(drift)} difference(s)")
        for difference in drift:
            print(
                f"  {difference['operationId']}  {difference['probe']}: {difference['aspect']}: "
                f"target {difference['target']!r}, mock {difference['mock']!r}"
            )
    if arguments.junit:
        arguments.junit.write_bytes(junit_xml(outcomes, options.base_url))
    if arguments.json:
        arguments.json.write_bytes(json_report(outcomes, options.base_url, drift))
    if arguments.report:
        arguments.report.write_bytes(html_report(outcomes, options.base_url, drift))
    return exit_status(
        outcomes,
        allow_skips=arguments.allow_skips,
        drift=len(drift or []),
        fail_on_drift=arguments.fail_on_drift,
    )


def add_verify_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "verify",
        help="probe a deployment and check its answers against the contract",
        description="Probe every served operation of a deployment (the credential operations and the "
        "storefront ones), with negatives generated from the contract, and check every answer. "
        "Exit status 0 when every probe passed; 1 on a violation, or on a probe skipped because a "
        "credential or the mailbox failed (unless --allow-skips); 2 when the target cannot be "
        "reached or an option is wrong.",
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
    tokens.add_argument(
        "--other-tenant",
        metavar="TENANT",
        help="a tenant whose anonymous token each secured operation must refuse (default for a credmock: one "
        "made up)",
    )
    tokens.add_argument("--other-tenant-token", metavar="TOKEN", help="a token of another tenant, given")
    probes = parser.add_argument_group("probes")
    probes.add_argument(
        "--max-generated", type=int, metavar="N", help="at most N negatives generated from the contract (all)"
    )
    probes.add_argument(
        "--allow-skips",
        action="store_true",
        help="exit 0 even when probes were skipped because a credential or the mailbox failed",
    )
    writes = parser.add_argument_group("full flows (change the test account, then undo)")
    writes.add_argument(
        "--allow-writes", action="store_true", help="run the profile, address, password and email flows"
    )
    writes.add_argument(
        "--mailbox",
        metavar="URL",
        help="read the emailed tokens over IMAP: imap://USER@HOST[:PORT]/FOLDER (TLS), or "
        "imap+insecure://... (plain, for a local test server)",
    )
    writes.add_argument(
        "--mailbox-password-env",
        metavar="NAME",
        default=MAILBOX_PASSWORD_ENV,
        help=f"the environment variable holding the mailbox's password (default: {MAILBOX_PASSWORD_ENV})",
    )
    writes.add_argument(
        "--mail-wait",
        type=wait_seconds(MAIL_WAIT_LIMIT),
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for an email",
    )
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
    reports = parser.add_argument_group("reports")
    reports.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    reports.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    reports.add_argument(
        "--report", type=Path, metavar="FILE.html", help="write a self-contained HTML report"
    )
    drift = parser.add_argument_group("drift against the mock")
    drift.add_argument(
        "--compare-mock",
        action="store_true",
        help="run the probes against an in-process credmock too and list where the answers differ",
    )
    drift.add_argument("--fail-on-drift", action="store_true", help="exit 1 when the answers differ")
    add_upstream_timeout(parser, default=10.0)
    parser.set_defaults(run=run_verify_command)

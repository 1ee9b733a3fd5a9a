"""``credmock coverage``: the API coverage a client suite reached on a running credmock (its
``GET /_mock/coverage``), as a table of operations by declared statuses, an HTML page, and a
gate as coverage.py's ``--fail-under``: exit 0, 1 under the bar, 2 when the mock cannot be read.

The pytest plugin prints the same table (:func:`format_report`) after a session.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from credmock.core.coverage import CoverageKey
from credmock.settings import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER
from credmock.tools.option_checks import add_upstream_timeout

COVERAGE_PATH = "/_mock/coverage"
EXIT_COVERED, EXIT_UNDER, EXIT_UNREADABLE = 0, 1, 2
Report = dict[str, Any]  # the body of GET /_mock/coverage


class Unreadable(Exception):
    """The coverage could not be read: no answer, or not a credmock's."""


def fetch_coverage(base_url: str, control_token: str | None = None, timeout: float = 10.0) -> Report:
    headers = {CONTROL_TOKEN_HEADER: control_token} if control_token else {}
    try:
        response = httpx.get(base_url.rstrip("/") + COVERAGE_PATH, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error).strip()) or type(error).__name__
        raise Unreadable(f"cannot reach {base_url}: {reason[0].lower()}{reason[1:]}") from None
    if response.status_code == 401:
        raise Unreadable(f"{base_url} refused the control token (--control-token, ${CONTROL_TOKEN_ENV})")
    try:
        report = response.json() if response.status_code == 200 else None
    except ValueError:
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("operations"), list):
        raise Unreadable(f"{base_url}{COVERAGE_PATH} answered {response.status_code}: is it a credmock?")
    return report


def merge_reports(reports: Sequence[Report]) -> Report:
    """One report of several mocks' (the workers of a pytest-xdist run): their counts added up."""
    from credmock.handlers.inspection import coverage_body  # the web stack, only when merging
    from credmock.observe.coverage import DeclaredOperation, coverage_of

    operations: dict[str, Any] = {}  # operationId -> DeclaredOperation
    counts: dict[CoverageKey, int] = {}
    for report in reports:
        for entry in report["operations"]:
            operation_id = entry["operationId"]
            operations.setdefault(
                operation_id,
                DeclaredOperation(
                    operation_id, entry["method"], entry["path"], tuple(entry["declaredStatuses"])
                ),
            )
            typed: dict[int, int] = {}
            for seen in entry["errorTypesSeen"]:
                key = (operation_id, seen["status"], seen["type"])
                counts[key] = counts.get(key, 0) + seen["requests"]
                typed[seen["status"]] = typed.get(seen["status"], 0) + seen["requests"]
            for seen in entry["statusesSeen"]:
                untyped = seen["requests"] - typed.get(seen["status"], 0)
                if untyped:
                    key = (operation_id, seen["status"], "")
                    counts[key] = counts.get(key, 0) + untyped
    return coverage_body(coverage_of(operations.values(), counts))


def percent_text(reached: int, declared: int) -> str:
    """As coverage.py shows it: whole percent, never 100% while a status is missing nor 0% once
    one is reached."""
    if not declared:
        return "100%"
    percent = 100 * reached / declared
    if 0 < percent < 1:
        return "1%"
    if 99 < percent < 100:
        return "99%"
    return f"{math.floor(percent + 0.5)}%"


def _row(operation: dict[str, Any]) -> tuple[str, int, int, int, str, str]:
    declared = len(operation["declaredStatuses"])
    missing = operation["statusesNotSeen"]
    return (
        printable(operation["operationId"]),
        operation["requests"],
        declared,
        len(missing),
        percent_text(declared - len(missing), declared),
        ", ".join(str(status) for status in missing),
    )


def format_table(report: Report) -> str:
    """Operations by declared statuses, and the total, as coverage.py's report."""
    total = report["total"]
    header = ("Operation", "Requests", "Statuses", "Miss", "Cover", "Missing")
    rows = [_row(operation) for operation in report["operations"]]
    footer = (
        "TOTAL",
        total["requests"],
        total["declaredStatuses"],
        total["declaredStatuses"] - total["declaredStatusesSeen"],
        percent_text(total["declaredStatusesSeen"], total["declaredStatuses"]),
        "",
    )
    width = max(len(str(row[0])) for row in [header, *rows, footer])

    def line(cells: tuple[Any, ...]) -> str:
        name, requests, declared, miss, cover, missing = (str(cell) for cell in cells)
        text = f"{name:<{width}}  {requests:>8}  {declared:>8}  {miss:>4}  {cover:>5}"
        return f"{text}   {missing}" if missing else text

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(row) for row in rows), rule, line(footer)])


def printable(text: str) -> str:
    """``text`` safe for a terminal: a control character (an escape sequence an injected fault's
    body may hold) is shown as its ``\\x..`` code, never sent to the terminal."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def format_details(report: Report) -> str:
    """The error types seen, and the statuses answered that the contract does not declare."""
    lines = []
    errors = [
        (printable(operation["operationId"]), seen)
        for operation in report["operations"]
        for seen in operation["errorTypesSeen"]
    ]
    if errors:
        lines.append("Error types seen:")
        width = max(len(name) for name, _ in errors)
        lines += [
            f"  {name:<{width}}  {seen['status']}  {printable(seen['type'])}  ({seen['requests']})"
            for name, seen in errors
        ]
    undeclared = [
        (printable(operation["operationId"]), seen)
        for operation in report["operations"]
        for seen in operation["statusesSeen"]
        if not seen["declared"]
    ]
    if undeclared:
        lines.append("Statuses answered that the contract does not declare (injected faults):")
        lines += [f"  {name}  {seen['status']}  ({seen['requests']})" for name, seen in undeclared]
    return "\n".join(lines)


def format_report(report: Report) -> str:
    details = format_details(report)
    return format_table(report) + ("\n\n" + details if details else "")


def html_report(report: Report, source: str) -> str:
    """One self-contained page (no script, no request): the table, each missing status and error
    type named; every text from the mock is escaped."""
    esc = html.escape
    total = report["total"]
    rows = []
    for operation in report["operations"]:
        name, requests, declared, miss, cover, missing = _row(operation)
        seen = ", ".join(
            f"{item['status']}&nbsp;&times;{item['requests']}" + ("" if item["declared"] else " (undeclared)")
            for item in operation["statusesSeen"]
        )
        errors = "<br>".join(
            f"{item['status']} {esc(item['type'])} &times;{item['requests']}"
            for item in operation["errorTypesSeen"]
        )
        state = "full" if not miss else "none" if not requests else "part"
        rows.append(
            f'<tr class="{state}"><td><code>{esc(name)}</code><br><small>{esc(operation["method"])} '
            f"{esc(operation['path'])}</small></td><td>{requests}</td><td>{declared}</td><td>{miss}</td>"
            f"<td>{cover}</td><td>{esc(missing)}</td><td>{seen}</td><td>{errors}</td></tr>"
        )
    summary = percent_text(total["declaredStatusesSeen"], total["declaredStatuses"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>API coverage: {summary}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }}
td:nth-child(n+2):nth-child(-n+5) {{ text-align: right; }}
tr.full td:first-child {{ border-left: 6px solid #2a2; }}
tr.part td:first-child {{ border-left: 6px solid #e90; }}
tr.none td:first-child {{ border-left: 6px solid #c33; }}
tfoot td {{ font-weight: bold; }}
</style></head><body>
<h1>API coverage: {summary}</h1>
<p>Of {esc(source)}: {total["declaredStatusesSeen"]} of {total["declaredStatuses"]} declared
statuses reached, {total["operationsSeen"]} of {total["operations"]} operations called,
{total["requests"]} requests.</p>
<table>
<thead><tr><th>Operation</th><th>Requests</th><th>Statuses</th><th>Miss</th><th>Cover</th>
<th>Missing</th><th>Statuses seen</th><th>Error types seen</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
<tfoot><tr><td>TOTAL</td><td>{total["requests"]}</td><td>{total["declaredStatuses"]}</td>
<td>{total["declaredStatuses"] - total["declaredStatusesSeen"]}</td><td>{summary}</td>
<td></td><td></td><td></td></tr></tfoot>
</table>
</body></html>
"""


def under_bar(report: Report, fail_under: float | None) -> str | None:
    """Why ``report`` fails ``--fail-under``, or None."""
    percent = report["total"]["percent"]
    if fail_under is None or percent >= fail_under:
        return None
    return f"total API coverage {percent:g}% is less than --fail-under {fail_under:g}%"


def run_coverage_command(arguments: argparse.Namespace) -> int:
    try:
        report = fetch_coverage(arguments.base_url, arguments.control_token, arguments.timeout)
    except Unreadable as unreadable:
        print(f"credmock coverage: {unreadable}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(format_report(report))
    if arguments.html:
        arguments.html.write_text(html_report(report, arguments.base_url), encoding="utf-8")
    failure = under_bar(report, arguments.fail_under)
    if failure:
        print(f"credmock coverage: {failure}", file=sys.stderr)
        return EXIT_UNDER
    return EXIT_COVERED


def percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:  # NaN fails too
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text!r}")
    return value


def add_coverage_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "coverage",
        help="the API coverage a client suite reached on a running credmock",
        description="Print, per operation of the contract, the requests a running credmock answered "
        "and the declared statuses they reached (GET /_mock/coverage). Exit status 1 when the total "
        "is under --fail-under, 2 when the mock cannot be read.",
    )
    parser.add_argument("--base-url", required=True, help="the credmock, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV) or None,
        help=f"the control token the credmock was started with (default: ${CONTROL_TOKEN_ENV})",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write the report as one HTML page")
    parser.add_argument(
        "--fail-under",
        type=percentage,
        metavar="PERCENT",
        help="exit 1 when under this percentage of the declared statuses were reached",
    )
    add_upstream_timeout(parser, default=10.0)
    parser.set_defaults(run=run_coverage_command)

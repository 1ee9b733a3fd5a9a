"""The report of a verification: a table for people, a summary naming every skip, and files for
CI and for people: JUnit XML, JSON, and one self-contained HTML page."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from typing import Any

from credmock.tools.verify.model import FAIL, PASS, SKIP, SKIP_FAILED, Outcome


def format_table(outcomes: list[Outcome]) -> str:
    rows = [("OPERATION", "PROBE", "EXPECTED", "GOT", "VERDICT")]
    for outcome in outcomes:
        verdict = outcome.verdict.upper() if outcome.verdict != SKIP else "SKIP"
        rows.append(
            (
                outcome.operation.label,
                outcome.probe,
                outcome.expectation,
                str(outcome.got or "-"),
                f"{verdict}  {outcome.reason}".rstrip(),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    return {verdict: sum(1 for o in outcomes if o.verdict == verdict) for verdict in (PASS, FAIL, SKIP)}


def summary(outcomes: list[Outcome]) -> str:
    """The closing lines: the counts, then every skip reason and how many probes it skipped."""
    tally = counts(outcomes)
    generated = sum(1 for o in outcomes if o.generated)
    operations = len({o.operation.operation_id for o in outcomes})
    lines = [
        f"{len(outcomes)} probes of {operations} operations ({generated} generated from the contract): "
        f"{tally[PASS]} passed, {tally[FAIL]} failed, {tally[SKIP]} skipped"
    ]
    reasons: dict[tuple[str, str], int] = {}
    for outcome in outcomes:
        if outcome.verdict == SKIP:
            key = (outcome.skip_kind, outcome.reason)
            reasons[key] = reasons.get(key, 0) + 1
    for (kind, reason), number in reasons.items():
        failed = " (a failed credential or mailbox)" if kind == SKIP_FAILED else ""
        lines.append(f"skipped {number}{failed}: {reason}")
    return "\n".join(lines)


def junit_xml(outcomes: list[Outcome], base_url: str) -> bytes:
    """A JUnit report: one testsuite, one testcase per probe (classname: the operationId)."""
    tally = counts(outcomes)
    suite = ET.Element(
        "testsuite",
        name=f"credmock verify {base_url}",
        tests=str(len(outcomes)),
        failures=str(tally[FAIL]),
        errors="0",
        skipped=str(tally[SKIP]),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=outcome.operation.operation_id,
            name=f"{outcome.probe} -> {outcome.expectation}",
            time=f"{outcome.seconds:.3f}",
        )
        if outcome.verdict == FAIL:
            ET.SubElement(case, "failure", message=outcome.reason, type="contract").text = outcome.reason
        elif outcome.verdict == SKIP:
            ET.SubElement(case, "skipped", message=outcome.reason)
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def unreachable_junit_xml(base_url: str, reason: str) -> bytes:
    """A JUnit report of a target that could not be reached: one test case, in error."""
    suite = ET.Element(
        "testsuite", name=f"credmock verify {base_url}", tests="1", failures="0", errors="1", skipped="0"
    )
    case = ET.SubElement(suite, "testcase", classname="credmock-verify", name=f"reach {base_url}")
    ET.SubElement(case, "error", message=reason, type="unreachable").text = reason
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    return {
        "operationId": outcome.operation.operation_id,
        "method": outcome.operation.method,
        "path": outcome.operation.path,
        "probe": outcome.probe,
        "generated": outcome.generated,
        "expected": outcome.expected,
        "accepted": sorted(outcome.accepted),
        "got": outcome.got,
        "verdict": outcome.verdict,
        "reason": outcome.reason,
        "skip": outcome.skip_kind or None,
        "seconds": round(outcome.seconds, 4),
        "exchange": asdict(outcome.exchange) if outcome.exchange else None,
    }


def json_report(outcomes: list[Outcome], base_url: str, drift: list[dict[str, Any]] | None = None) -> bytes:
    tally = counts(outcomes)
    document: dict[str, Any] = {
        "target": base_url,
        "summary": {
            "probes": len(outcomes),
            "passed": tally[PASS],
            "failed": tally[FAIL],
            "skipped": tally[SKIP],
        },
        "probes": [outcome_record(outcome) for outcome in outcomes],
    }
    if drift is not None:
        document["drift"] = drift
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0}
.pass .verdict{color:#176f2c}.fail .verdict{color:#b00020;font-weight:bold}.skipped .verdict{color:#8a6d00}
tr.fail{background:#fff1f1}details{margin:.3em 0}pre{white-space:pre-wrap;word-break:break-all;
background:#f7f7f7;padding:.5em;margin:.2em 0;font-size:12px}.counts span{margin-right:1em}
.drift{background:#fff8e1}
"""


def _exchange_html(outcome: Outcome) -> str:
    exchange = outcome.exchange
    if exchange is None:
        return ""
    request_head = "\n".join(f"{name}: {value}" for name, value in exchange.request_headers.items())
    response_head = "\n".join(f"{name}: {value}" for name, value in exchange.response_headers.items())
    request = f"{exchange.method} {exchange.url}\n{request_head}\n\n{exchange.request_body}".rstrip()
    response = (
        f"{exchange.status if exchange.status is not None else '(no answer)'}\n{response_head}\n\n"
        f"{exchange.response_body}".rstrip()
    )
    open_attribute = " open" if outcome.verdict == FAIL else ""
    return (
        f"<details{open_attribute}><summary>request and answer</summary>"
        f"<b>Rule broken</b><pre>{html.escape(outcome.reason or '(none)')}</pre>"
        f"<b>Request sent</b><pre>{html.escape(request)}</pre>"
        f"<b>Answer received</b><pre>{html.escape(response)}</pre></details>"
    )


def html_report(outcomes: list[Outcome], base_url: str, drift: list[dict[str, Any]] | None = None) -> bytes:
    """One page, no script, no link to anything: opens from the file system in any browser."""
    tally = counts(outcomes)
    rows, failures = [], []
    for number, outcome in enumerate(outcomes, 1):
        reason = "" if outcome.verdict == FAIL else html.escape(outcome.reason)
        if outcome.verdict == FAIL:
            failures.append(
                f'<li><a href="#probe-{number}">{html.escape(outcome.operation.operation_id)}: '
                f"{html.escape(outcome.probe)}</a></li>"
            )
        rows.append(
            f'<tr id="probe-{number}" class="{outcome.verdict}">'
            f"<td>{html.escape(outcome.operation.operation_id)}<br>"
            f"<small>{html.escape(outcome.operation.method)} "
            f"{html.escape(outcome.operation.path)}</small></td>"
            f"<td>{html.escape(outcome.probe)}</td><td>{html.escape(outcome.expectation)}</td>"
            f'<td>{outcome.got or "-"}</td><td class="verdict">{html.escape(outcome.verdict.upper())}</td>'
            f"<td>{reason}{_exchange_html(outcome)}</td></tr>"
        )
    drift_html = ""
    if drift is not None:
        items = "".join(
            f'<tr class="drift"><td>{html.escape(d["operationId"])}</td><td>{html.escape(d["probe"])}</td>'
            f"<td>{html.escape(d['aspect'])}</td><td>{html.escape(str(d['target']))}</td>"
            f"<td>{html.escape(str(d['mock']))}</td></tr>"
            for d in drift
        )
        drift_html = (
            f"<h2>Drift against the mock: {len(drift)} difference(s)</h2><table><thead><tr><th>Operation</th>"
            f"<th>Probe</th><th>Aspect</th><th>Target</th><th>Mock</th></tr></thead><tbody>{items}</tbody></table>"
        )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>credmock verify {html.escape(base_url)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>credmock verify {html.escape(base_url)}</h1>"
        f'<p class="counts"><span>{len(outcomes)} probes</span><span>{tally[PASS]} passed</span>'
        f"<span>{tally[FAIL]} failed</span><span>{tally[SKIP]} skipped</span></p>"
        + (f'<h2>Failed</h2><ol class="failures">{"".join(failures)}</ol>' if failures else "")
        + drift_html
        + "<table><thead><tr><th>Operation</th><th>Probe</th><th>Expected</th><th>Got</th><th>Verdict</th>"
        f"<th>Details</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>"
    )
    return page.encode()

"""The report of a verification: a table for people, a summary line, a JUnit XML file for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from credmock.tools.verify.model import FAIL, PASS, SKIP, Outcome


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

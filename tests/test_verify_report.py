"""The reports of `credmock verify`: the HTML page opened in Debian's chromium (headless, from the
file system, no server), and the JSON file. Browser: the ``chromium`` fixture of tests/conftest.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from credmock.settings import Settings
from credmock.tools.cli import main
from credmock.tools.testing import LiveServer
from tests.broken_server import Answer, Plant, PlantedServer
from tests.conftest import ALICE, TENANT

LOGIN = ["--client-id", "storefront", "--email", ALICE["email"], "--password", ALICE["password"]]
HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"


@pytest.fixture
def planted() -> Iterator[PlantedServer]:
    with PlantedServer() as server:
        yield server


def open_report(chromium, report: Path, screenshot: Path) -> dict:
    """The page as a person sees it: rows, verdicts, open failures; every request it made."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(report.as_uri())
        page.screenshot(path=str(screenshot), full_page=False)
        return {
            "title": page.title(),
            "rows": page.locator("tbody tr").count(),
            "verdicts": page.locator("tbody tr td.verdict").all_inner_texts(),
            "open_failures": page.locator("tr.fail details[open]").all_inner_texts(),
            "counts": page.inner_text("p.counts"),
            "requested": requested,
            "dialogs": dialogs,
            "scripts": page.locator("script").count(),
        }
    finally:
        context.close()


def test_verify_html_report_of_a_fresh_credmock_shows_every_probe_in_chromium(chromium, tmp_path):
    report, data, junit = tmp_path / "verify.html", tmp_path / "verify.json", tmp_path / "verify.xml"
    with LiveServer(Settings(seed=7)) as fresh:
        status = main(
            ["verify", "--base-url", fresh.base_url, "--tenant", TENANT, *LOGIN, "--allow-writes",
             "--report", str(report), "--json", str(data), "--junit", str(junit)]
        )  # fmt: skip
    assert status == 0
    probes = json.loads(data.read_text())["probes"]
    seen = open_report(chromium, report, tmp_path / "verify-report.png")
    assert (tmp_path / "verify-report.png").stat().st_size > 10_000
    assert seen["rows"] == len(probes) == len(list(ET.parse(junit).getroot().iter("testcase"))) > 200
    assert set(seen["verdicts"]) == {"PASS"}
    assert seen["counts"].split("\n")[0].startswith(f"{len(probes)} probes")
    assert seen["requested"] == [report.as_uri()]  # self-contained: nothing else is loaded


def test_verify_html_report_expands_a_failure_with_request_answer_and_rule_escaped(
    chromium, planted, tmp_path
):
    planted.plants["/password/reset/update"] = Plant(
        "POST", Answer(500, {"status": 500, "type": "internal_error", "message": HOSTILE})
    )
    report, data = tmp_path / "verify.html", tmp_path / "verify.json"
    status = main(["verify", "--base-url", planted.base_url, "--tenant", TENANT, *LOGIN,
                   "--report", str(report), "--json", str(data)])  # fmt: skip
    assert status == 1
    seen = open_report(chromium, report, tmp_path / "verify-report-failure.png")
    failed = [p for p in json.loads(data.read_text())["probes"] if p["verdict"] == "fail"]
    assert len(seen["open_failures"]) == len(failed) > 0
    bogus = next(text for text in seen["open_failures"] if "credmock-verify-bogus-" in text)
    assert "Rule broken" in bogus and "status 500 is not declared for this operation" in bogus
    assert "Request sent" in bogus and f"POST /customer/{TENANT}/password/reset/update" in bogus
    assert "Answer received" in bogus and HOSTILE in bogus  # shown as text, never run
    assert page_failures(report) == len(failed)
    assert (seen["title"], seen["dialogs"], seen["scripts"]) == (f"credmock verify {planted.base_url}", [], 0)


def test_verify_json_report_has_each_probe_with_its_exchange(capsys, planted, tmp_path):
    data = tmp_path / "verify.json"
    status = main(["verify", "--base-url", planted.base_url, "--tenant", TENANT, *LOGIN, "--json", str(data)])
    capsys.readouterr()
    document = json.loads(data.read_text())
    assert status == 0
    assert document["target"] == planted.base_url
    assert document["summary"]["failed"] == 0 and document["summary"]["probes"] == len(document["probes"])
    probe = next(p for p in document["probes"] if p["probe"] == "generated: missing required email"
                 and p["operationId"] == "POST-customer-request-reset-password")  # fmt: skip
    assert (probe["generated"], probe["expected"], probe["accepted"], probe["got"]) == (
        True,
        None,
        [400, 401, 403],
        400,
    )
    exchange = probe["exchange"]
    assert json.loads(exchange["request_body"]) == {}
    assert exchange["request_headers"]["Authorization"].endswith("…")  # the token is not written out whole
    assert json.loads(exchange["response_body"])["status"] == 400


def page_failures(report: Path) -> int:
    """The entries of the page's list of failures, each a link to its row."""
    text = report.read_text()
    return text.count('<li><a href="#probe-')

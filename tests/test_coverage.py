"""API coverage of a client suite: GET/DELETE /_mock/coverage, the counts in every store, the
``credmock coverage`` command, and one combined count over two workers."""

from __future__ import annotations

import html
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from credmock.app import CONTRACT_SPEC, MOCK_API_SPEC, STOREFRONT_SPEC, load_spec
from credmock.observe.coverage import declared_operations
from credmock.settings import Settings
from credmock.store import open_store
from credmock.tools.cli import main
from credmock.tools.testing import LiveServer, RedisServer, ServerProcess, redis_server_path
from tests.conftest import ALICE, TENANT, bearer

RESET_REQUEST = "POST-customer-request-reset-password"
CHANGE_PASSWORD = "POST-customer-change-account-password"
LOGIN = "POST-customer-authenticate-customer"


def operation(report: dict[str, Any], operation_id: str) -> dict[str, Any]:
    (found,) = [entry for entry in report["operations"] if entry["operationId"] == operation_id]
    return found


def statuses_seen(entry: dict[str, Any]) -> dict[int, int]:
    return {seen["status"]: seen["requests"] for seen in entry["statusesSeen"]}


def error_types_seen(entry: dict[str, Any]) -> set[tuple[int, str]]:
    return {(seen["status"], seen["type"]) for seen in entry["errorTypesSeen"]}


# GET /_mock/coverage ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["async", "flask"])
def test_coverage_names_statuses_reached_and_missed_and_error_types_seen(client_with, engine: str) -> None:
    client = client_with(engine=engine)
    anonymous = client.anonymous_token()
    reset = "/customer/demo/password/reset"
    assert client.post(reset, json={"email": ALICE["email"]}, headers=bearer(anonymous)).status_code == 204
    assert client.post(reset, json={"email": ALICE["email"]}, headers=bearer(anonymous)).status_code == 204
    assert client.post(reset, json={"email": ALICE["email"]}).status_code == 401
    assert client.post(reset, json={}, headers=bearer(anonymous)).status_code == 400
    change = client.post(
        "/customer/demo/password/change",
        json={"currentPassword": "x", "newPassword": "y"},
        headers=bearer(anonymous),
    )
    assert change.status_code == 403

    report = client.get("/_mock/coverage").json()

    reset_entry = operation(report, RESET_REQUEST)
    assert reset_entry["method"] == "POST" and reset_entry["path"] == "/customer/{tenant}/password/reset"
    assert reset_entry["requests"] == 4
    assert reset_entry["declaredStatuses"] == [204, 400, 401, 403]
    assert statuses_seen(reset_entry) == {204: 2, 400: 1, 401: 1}
    assert reset_entry["statusesNotSeen"] == [403]
    assert error_types_seen(reset_entry) == {
        (400, "validation_violation"),
        (401, "oauth.v2.InvalidAccessToken"),
    }
    change_entry = operation(report, CHANGE_PASSWORD)
    assert statuses_seen(change_entry) == {403: 1}
    assert error_types_seen(change_entry) == {(403, "forbidden")}
    assert operation(report, LOGIN)["requests"] == 0
    total = report["total"]
    assert (total["requests"], total["operationsSeen"], total["declaredStatusesSeen"]) == (5, 2, 4)
    assert total["percent"] == round(100 * 4 / total["declaredStatuses"], 2)


def test_coverage_lists_every_contract_and_storefront_operation_and_none_of_the_mock_api(client) -> None:
    client.get("/_mock/health")
    client.get("/_mock/outbox")
    client.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"})

    report = client.get("/_mock/coverage").json()

    expected = [
        op.operation_id
        for name in (CONTRACT_SPEC, STOREFRONT_SPEC)
        for op in declared_operations(load_spec(name))
    ]
    assert [entry["operationId"] for entry in report["operations"]] == expected
    mock_api = {op.operation_id for op in declared_operations(load_spec(MOCK_API_SPEC))}
    assert mock_api.isdisjoint(expected)
    assert report["total"]["requests"] == 0


def test_browser_preflights_and_unrouted_requests_reach_no_status(client) -> None:
    preflight = {
        "Origin": "http://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    assert client.request("OPTIONS", "/customer/demo/login", headers=preflight).status_code == 200
    assert client.get("/customer/demo/no-such-operation").status_code == 404

    report = client.get("/_mock/coverage").json()

    assert report["total"]["requests"] == 0


def test_coverage_counts_an_injected_status_the_contract_does_not_declare(client) -> None:
    fault = {"operation": RESET_REQUEST, "status": 503, "body": {"type": "maintenance", "message": "later"}}
    assert client.post("/_mock/faults", json=fault).status_code == 201
    # The fault's answer is outside the contract on purpose: sent past the contract check.
    answer = client.app.test_client().post("/customer/demo/password/reset", json={"email": ALICE["email"]})
    assert answer.status_code == 503

    entry = operation(client.get("/_mock/coverage").json(), RESET_REQUEST)

    assert entry["statusesSeen"] == [{"status": 503, "requests": 1, "declared": False}]
    assert entry["errorTypesSeen"] == [{"status": 503, "type": "maintenance", "requests": 1}]
    assert entry["statusesNotSeen"] == [204, 400, 401, 403]


def test_coverage_cleared_by_its_delete_and_by_reset(client) -> None:
    def counted() -> int:
        return client.get("/_mock/coverage").json()["total"]["requests"]

    client.post("/customer/demo/password/reset", json={})
    assert counted() == 1
    assert client.delete("/_mock/coverage").status_code == 204
    assert counted() == 0
    client.post("/customer/demo/password/reset", json={})
    assert client.post("/_mock/reset").status_code == 204
    assert counted() == 0


def test_app_reset_keeping_coverage_keeps_the_counts_and_resets_the_state(client) -> None:
    client.post(
        "/customer/demo/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.anonymous_token()),
    )
    assert client.outbox()

    client.app.reset(keep_coverage=True)

    assert client.outbox() == []
    assert operation(client.get("/_mock/coverage").json(), RESET_REQUEST)["requests"] == 1


def test_coverage_needs_the_control_token_when_the_server_has_one(client_with) -> None:
    client = client_with(control_token="secret-token")
    assert client.get("/_mock/coverage").status_code == 401
    assert client.delete("/_mock/coverage").status_code == 401
    assert client.get("/_mock/coverage", headers={"X-Mock-Control-Token": "secret-token"}).status_code == 200


# The stores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_store_adds_coverage_counts_and_a_state_reset_leaves_them(store_urls, kind: str) -> None:
    store = open_store(store_urls(kind))
    store.clear_coverage()
    store.add_coverage({("login", 200, ""): 2, ("login", 401, "oauth.v2.InvalidAccessToken"): 1})
    store.add_coverage({("login", 200, ""): 3, ("me", 403, "forbidden"): 1})
    store.fill([TENANT], [], replace=True)

    assert store.coverage() == {
        ("login", 200, ""): 5,
        ("login", 401, "oauth.v2.InvalidAccessToken"): 1,
        ("me", 403, "forbidden"): 1,
    }
    store.clear_coverage()
    assert store.coverage() == {}
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_shared_store_loses_no_count_when_processes_add_at_once(store_urls, kind: str) -> None:
    url = store_urls(kind)
    opened = [open_store(url) for _ in range(4)]
    opened[0].clear_coverage()

    def add_many(store) -> None:
        for _ in range(50):
            store.add_coverage({("login", 200, ""): 1, ("login", 400, "validation_violation"): 2})

    threads = [threading.Thread(target=add_many, args=(store,)) for store in opened]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert opened[1].coverage() == {("login", 200, ""): 200, ("login", 400, "validation_violation"): 400}
    for store in opened:
        store.close()


# credmock coverage ------------------------------------------------------------------------------


@pytest.fixture
def live() -> LiveServer:
    with LiveServer(Settings()) as server:
        yield server


def reach_reset_request_statuses(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as shop:
        token = shop.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()[
            "access_token"
        ]
        shop.post("/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=bearer(token))
        shop.post("/customer/demo/password/reset", json={})


def test_coverage_command_prints_operations_by_statuses_as_coverage_py(live, capsys) -> None:
    reach_reset_request_statuses(live.base_url)

    assert main(["coverage", "--base-url", live.base_url]) == 0

    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["Operation", "Requests", "Statuses", "Miss", "Cover", "Missing"]
    (row,) = [line for line in printed if line.startswith(RESET_REQUEST)]
    assert row.split() == [RESET_REQUEST, "2", "4", "2", "50%", "400,", "403"]
    (total,) = [line for line in printed if line.startswith("TOTAL")]
    assert total.split()[:2] == ["TOTAL", "2"]
    assert f"  {RESET_REQUEST}  401  oauth.v2.InvalidAccessToken  (1)" in "\n".join(printed)


def test_coverage_command_fails_under_the_bar_and_passes_at_it(live, capsys) -> None:
    reach_reset_request_statuses(live.base_url)
    percent = httpx.get(f"{live.base_url}/_mock/coverage").json()["total"]["percent"]

    assert main(["coverage", "--base-url", live.base_url, "--fail-under", str(percent + 0.01)]) == 1
    assert "less than --fail-under" in capsys.readouterr().err
    assert main(["coverage", "--base-url", live.base_url, "--fail-under", str(percent)]) == 0


def test_coverage_command_exits_2_when_the_mock_is_unreachable(capsys) -> None:
    with LiveServer(Settings()) as server:
        url = server.base_url
    assert main(["coverage", "--base-url", url, "--timeout", "2"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_coverage_command_exits_2_on_a_wrong_control_token(capsys) -> None:
    with LiveServer(Settings(control_token="right-token")) as server:
        assert main(["coverage", "--base-url", server.base_url, "--control-token", "wrong"]) == 2
        assert "control token" in capsys.readouterr().err
        assert main(["coverage", "--base-url", server.base_url, "--control-token", "right-token"]) == 0


@pytest.mark.parametrize("bar", ["101", "-1", "nan", "most"])
def test_coverage_command_refuses_a_bar_that_is_no_percentage(bar: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["coverage", "--base-url", "http://127.0.0.1:9", "--fail-under", bar])
    assert exit_status.value.code == 2
    assert "a percentage from 0 to 100" in capsys.readouterr().err


def test_coverage_command_never_sends_an_error_types_control_characters_to_the_terminal(live, capsys) -> None:
    fault = {"operation": LOGIN, "status": 400, "body": {"type": "evil\u001b[2J\u001b]0;pwned\u0007"}}
    assert httpx.post(f"{live.base_url}/_mock/faults", json=fault).status_code == 201
    httpx.post(f"{live.base_url}/customer/demo/login", json={})

    assert main(["coverage", "--base-url", live.base_url]) == 0

    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07" in printed


def test_coverage_html_is_self_contained_and_escapes_what_the_mock_answered(live, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    fault = {"operation": LOGIN, "status": 400, "body": {"type": hostile}}
    assert httpx.post(f"{live.base_url}/_mock/faults", json=fault).status_code == 201
    httpx.post(f"{live.base_url}/customer/demo/login", json={})
    page = tmp_path / "coverage.html"

    assert main(["coverage", "--base-url", live.base_url, "--html", str(page)]) == 0

    text = page.read_text(encoding="utf-8")
    assert hostile not in text
    assert html.escape(hostile) in text
    assert "<script" not in text and "src=" not in text.replace(html.escape(hostile), "")
    assert f"<code>{LOGIN}</code>" in text


# Workers -------------------------------------------------------------------------------------


def test_two_workers_on_one_sqlite_file_report_one_combined_count(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with ServerProcess(["--workers", "2", "--state", state, "--quiet"]) as server:
        sent, split = 0, False
        for _ in range(20):  # until the requests were shared out to both workers
            for _ in range(10):
                with httpx.Client(base_url=server.base_url) as shop:  # a connection each
                    assert shop.post("/customer/demo/password/reset", json={}).status_code == 401
                sent += 1
            journals = {
                len(
                    httpx.get(f"{server.base_url}/_mock/requests", params={"operation": RESET_REQUEST}).json()
                )
                for _ in range(6)
            }
            if min(journals) < sent:  # one worker's journal lacks some: the other answered them
                split = True
                break
        assert split, "every request reached one worker"

        for _ in range(6):  # whichever worker answers
            with httpx.Client(base_url=server.base_url) as reader:
                report = reader.get("/_mock/coverage").json()
            assert operation(report, RESET_REQUEST)["statusesSeen"] == [
                {"status": 401, "requests": sent, "declared": True}
            ]


def test_coverage_counted_until_a_stop_survives_a_restart_and_not_a_reset_on_start(tmp_path: Path) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}", "--quiet"]
    with ServerProcess(state) as server, httpx.Client(base_url=server.base_url) as shop:
        for _ in range(30):  # back to back on one connection: most counts wait for the next write
            assert shop.post("/customer/demo/password/reset", json={}).status_code == 401
        shop.close()
        server.stop()  # SIGTERM at once, as a CI job ends

    with ServerProcess(state) as restarted:
        report = httpx.get(f"{restarted.base_url}/_mock/coverage").json()
    assert operation(report, RESET_REQUEST)["requests"] == 30

    with ServerProcess([*state, "--reset-on-start"]) as reset:
        report = httpx.get(f"{reset.base_url}/_mock/coverage").json()
    assert report["total"]["requests"] == 0


def test_counts_made_while_redis_is_gone_are_written_once_it_is_back(tmp_path: Path, caplog) -> None:
    if redis_server_path() is None and not os.environ.get("CREDMOCK_REQUIRE_REDIS"):
        pytest.skip("redis-server is not installed (scripts/install-redis.sh installs it)")
    redis = RedisServer(tmp_path).start()
    try:
        with LiveServer(Settings(state=redis.url)) as server:
            redis.stop()
            # No token: answered without the store, and counted while the store is gone.
            assert httpx.post(f"{server.base_url}/customer/demo/password/reset", json={}).status_code == 401
            deadline = time.monotonic() + 10
            while "could not be written" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.02)
            assert "kept for the next write" in caplog.text
            redis.start()  # empty: it keeps nothing across a restart

            report = httpx.get(f"{server.base_url}/_mock/coverage").json()

        assert operation(report, RESET_REQUEST)["statusesSeen"] == [
            {"status": 401, "requests": 1, "declared": True}
        ]
    finally:
        redis.stop()

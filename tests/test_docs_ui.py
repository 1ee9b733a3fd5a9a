"""Docs UI: Swagger UI for the contract and the mock API, with the spec as written (issue 3, section 3)."""

from __future__ import annotations

import re
from typing import Any

import connexion
import httpx
import pytest

from credmock.app import CONTRACT_SPEC, MOCK_API_SPEC, load_served_spec
from credmock.http.docs_ui import DocsPaths, middlewares
from credmock.tools.cli import banner
from credmock.tools.testing import LiveServer

DOCUMENTED = [("/ui/", "/openapi.json", CONTRACT_SPEC), ("/_mock/ui/", "/_mock/openapi.json", MOCK_API_SPEC)]


def without_servers(spec: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if key != "servers"}


@pytest.mark.parametrize(("ui_path", "spec_path", "_spec_name"), DOCUMENTED)
def test_get_docs_ui_page_loads_its_spec(client, ui_path, spec_path, _spec_name):
    page = client.get(ui_path)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'url: "{spec_path}"' in page.text
    assert client.get(ui_path + "swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize(("_ui_path", "spec_path", "spec_name"), DOCUMENTED)
def test_get_docs_spec_is_the_spec_files_with_this_mock_as_first_server(
    client, _ui_path, spec_path, spec_name
):
    response = client.get(spec_path)
    served, written = response.json(), load_served_spec(spec_name)  # the file (+ files mounted in it)

    assert response.status_code == 200
    assert without_servers(served) == without_servers(written)  # $refs kept, nothing wired in
    base = spec_path.removesuffix("/openapi.json")
    assert served["servers"][0]["url"] == f"http://testserver{base}"
    # The file's own servers follow, less the one the mock already is (the mock API's /_mock).
    assert served["servers"][1:] == [s for s in written["servers"] if s["url"] != base]


def test_get_docs_spec_yaml_answers(client):
    response = client.get("/openapi.yaml")

    assert response.status_code == 200
    assert "/customer/{tenant}/password/reset:" in response.text


def test_banner_docs_urls_answer_on_live_server():
    with LiveServer() as server:
        text = banner(server.base_url, server.app)
        docs_urls = re.findall(r"(http://\S+/ui/)", text)

        assert docs_urls == [f"{server.base_url}/ui/", f"{server.base_url}/_mock/ui/"]
        for url in docs_urls:
            assert httpx.get(url).status_code == 200


def minimal_spec(title: str, path: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {path: {"get": {"operationId": "ping", "responses": {"204": {"description": "ok"}}}}},
    }


def test_get_docs_two_apis_sharing_base_path_each_served():
    app = connexion.FlaskApp(__name__, middlewares=middlewares())
    docs = DocsPaths()
    for name, spec in [
        ("first.yaml", minimal_spec("First", "/a")),
        ("storefront.yaml", minimal_spec("Shop", "/b")),
    ]:
        options = docs.allocate(name, spec).options
        app.add_api(spec, name=name, swagger_ui_options=options, resolver=lambda _id: lambda: None)
    client = app.test_client()

    assert [(entry.ui_path, entry.spec_path) for entry in docs.entries] == [
        ("/ui/", "/openapi.json"),
        ("/storefront/ui/", "/storefront/openapi.json"),
    ]
    assert client.get("/openapi.json").json()["info"]["title"] == "First"
    assert client.get("/storefront/openapi.json").json()["info"]["title"] == "Shop"
    assert 'url: "/storefront/openapi.json"' in client.get("/storefront/ui/").text

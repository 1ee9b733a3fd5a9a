"""merge_spec.py: the fragments become one deterministic, valid contract; bad fragments are
rejected with one clear line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

import merge_spec

FRAGMENTS = Path(merge_spec.__file__).parent / "spec" / "fragments"
REPO_OUTPUT = FRAGMENTS.parent / "openapi.yaml"


@pytest.fixture
def fragments(tmp_path: Path) -> Path:
    """A writable copy of spec/fragments."""
    return Path(shutil.copytree(FRAGMENTS, tmp_path / "fragments"))


def run(fragments: Path, output: Path, *extra: str) -> int:
    return merge_spec.main(["--fragments", str(fragments), "--output", str(output), *extra])


def edit_fragment(fragments: Path, name: str, change) -> None:
    path = fragments / f"{name}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_merge_spec_check_passes_on_repository(capsys):
    assert merge_spec.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_merge_spec_output_is_byte_identical_on_two_runs(fragments, tmp_path):
    assert run(fragments, tmp_path / "first.yaml") == 0
    assert run(fragments, tmp_path / "second.yaml") == 0
    first = (tmp_path / "first.yaml").read_bytes()
    assert first == (tmp_path / "second.yaml").read_bytes()
    assert first == REPO_OUTPUT.read_bytes()


def test_merge_spec_output_is_valid_openapi_with_all_operations(fragments, tmp_path):
    run(fragments, tmp_path / "openapi.yaml")
    document = yaml.safe_load((tmp_path / "openapi.yaml").read_text(encoding="utf-8"))
    validate(document)
    operation_ids = sorted(
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
    )
    assert operation_ids == sorted(path.stem for path in FRAGMENTS.glob("*.json"))


def test_merge_spec_security_is_per_operation(fragments, tmp_path):
    run(fragments, tmp_path / "openapi.yaml")
    document = yaml.safe_load((tmp_path / "openapi.yaml").read_text(encoding="utf-8"))
    assert "security" not in document
    for path in FRAGMENTS.glob("*.json"):
        fragment = json.loads(path.read_text(encoding="utf-8"))
        [url] = fragment["paths"]
        assert document["paths"][url]["post"]["security"] == fragment["security"], path.name
    schemes = {url: item["post"]["security"][0].popitem()[0] for url, item in document["paths"].items()}
    assert schemes["/customer/{tenant}/password/change"] == "CustomerAccessToken"
    assert schemes["/customer/{tenant}/password/reset"] == "AnonymousAccessToken"


def test_merge_spec_declares_tenant_like_real_service(fragments, tmp_path, capsys):
    run(fragments, tmp_path / "openapi.yaml")
    out = capsys.readouterr().out
    document = yaml.safe_load((tmp_path / "openapi.yaml").read_text(encoding="utf-8"))
    tenant = document["components"]["parameters"]["tenant"]
    assert (tenant["name"], tenant["in"], tenant["required"]) == ("tenant", "path", True)
    assert tenant["schema"] == {
        "type": "string",
        "pattern": "^[a-z][a-z0-9]+$",
        "minLength": 3,
        "maxLength": 16,
    }
    for url, item in document["paths"].items():
        assert {"$ref": "#/components/parameters/tenant"} in item["parameters"], url
        assert f"declared path parameter {{tenant}} on {url}" in out


def test_merge_spec_identical_components_kept_once(fragments, tmp_path):
    run(fragments, tmp_path / "openapi.yaml")
    text = (tmp_path / "openapi.yaml").read_text(encoding="utf-8")
    assert text.count("    ErrorMessage:") == 1
    schemas = yaml.safe_load(text)["components"]["schemas"]
    for path in FRAGMENTS.glob("*.json"):
        assert set(json.loads(path.read_text(encoding="utf-8"))["components"]["schemas"]) <= set(schemas)


def test_merge_spec_conflicting_component_is_rejected(fragments, tmp_path, capsys):
    def redefine(document):
        document["components"]["schemas"]["ErrorMessage"]["required"] = ["status"]

    edit_fragment(fragments, "POST-customer-reset-password", redefine)
    assert run(fragments, tmp_path / "openapi.yaml") != 0
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "schemas/ErrorMessage" in error
    assert "POST-customer-reset-password.json" in error
    assert "POST-customer-change-account-password.json" in error  # the first to define it
    assert not (tmp_path / "openapi.yaml").exists()


def test_merge_spec_malformed_fragment_is_rejected_in_one_line(fragments, tmp_path, capsys):
    broken = fragments / "POST-customer-reset-password.json"
    broken.write_text(broken.read_text(encoding="utf-8")[:-20], encoding="utf-8")
    assert run(fragments, tmp_path / "openapi.yaml") != 0
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert str(broken) in error
    assert "invalid JSON" in error


def test_merge_spec_invalid_openapi_fragment_is_rejected_naming_it(fragments, tmp_path, capsys):
    def drop_responses(document):
        del document["paths"]["/customer/{tenant}/password/change"]["post"]["responses"]

    edit_fragment(fragments, "POST-customer-change-account-password", drop_responses)
    assert run(fragments, tmp_path / "openapi.yaml") != 0
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "POST-customer-change-account-password.json" in error
    assert "responses" in error


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(components=[]), "'components' must be a JSON object, not list"),
        (
            lambda d: d["paths"]["/customer/{tenant}/password/change"]["post"]["requestBody"]["content"][
                "application/json"
            ]["schema"].update({"$ref": "#/components/schemas/Nope"}),
            "$ref '#/components/schemas/Nope' points to nothing",
        ),
        (
            lambda d: d["components"]["schemas"]["PasswordChangeDto"].update(type="nonsense"),
            "components.schemas.PasswordChangeDto: the value is not valid",
        ),
    ],
    ids=["components-not-object", "dangling-ref", "bad-schema"],
)
def test_merge_spec_broken_fragment_is_rejected_naming_it(fragments, tmp_path, capsys, change, reason):
    edit_fragment(fragments, "POST-customer-change-account-password", change)
    assert run(fragments, tmp_path / "openapi.yaml") != 0
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert str(fragments / "POST-customer-change-account-password.json") in error
    assert reason in error


def test_merge_spec_malformed_fragment_gives_no_traceback_as_command(fragments, tmp_path):
    (fragments / "POST-customer-reset-password.json").write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            merge_spec.__file__,
            "--fragments",
            str(fragments),
            "--output",
            str(tmp_path / "o.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"merge_spec: error: {fragments / 'POST-customer-reset-password.json'}: "
        "invalid JSON at line 1 column 2: Expecting property name enclosed in double quotes"
    ]


def test_merge_spec_check_fails_on_stale_output(fragments, tmp_path, capsys):
    output = tmp_path / "openapi.yaml"
    assert run(fragments, output, "--check") != 0  # missing
    run(fragments, output)
    assert run(fragments, output, "--check") == 0
    edit_fragment(fragments, "POST-customer-reset-password", lambda d: d["info"].update(title="Changed"))
    edit_fragment(
        fragments,
        "POST-customer-change-account-password",
        lambda d: d["paths"]["/customer/{tenant}/password/change"]["post"].update(summary="Changed"),
    )
    capsys.readouterr()
    assert run(fragments, output, "--check") != 0
    assert "stale" in capsys.readouterr().err


def test_merge_spec_no_fragments_is_rejected(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run(tmp_path / "empty", tmp_path / "openapi.yaml") != 0
    assert "no fragments" in capsys.readouterr().err

"""The repository holds sources only, and its lock files pin what pyproject.toml asks for."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_TRACKED_BYTES = 1024 * 1024
RUN_LOCK = ROOT / "requirements" / "run.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"


def git(*arguments: str) -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: the repository checks need one")
    result = subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return [name for name in result.stdout.split("\0") if name]


def test_no_tracked_file_is_ignored_by_gitignore():
    ignored = git("ls-files", "-z", "--cached", "--ignored", "--exclude-standard")

    assert not ignored, f"tracked but listed in .gitignore (git rm --cached them): {ignored[:20]}"


def test_no_tracked_file_is_over_one_mebibyte():
    sizes = {name: (ROOT / name).stat().st_size for name in git("ls-files", "-z") if (ROOT / name).is_file()}
    large = {name: size for name, size in sizes.items() if size > MAX_TRACKED_BYTES}

    assert not large, f"tracked files over 1 MiB (generated or installed files do not belong in git): {large}"


def pins(lock: Path) -> dict[str, str]:
    """``name == version`` lines of a pip-compile lock, by normalised name."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(encoding="utf-8"), re.M)
    return {normalise(name): version for name, version in found}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group(0)) for requirement in requirements}


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        (RUN_LOCK, PROJECT["dependencies"]),
        (DEV_LOCK, PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]),
    ],
    ids=["run", "dev"],
)
def test_lock_pins_every_dependency_of_pyproject(lock: Path, requirements: list[str]):
    missing = requirement_names(requirements) - set(pins(lock))

    assert not missing, f"{lock.name} does not pin {sorted(missing)}: run `make lock`"


def test_run_lock_has_no_dev_tools_and_agrees_with_dev_lock():
    run, dev = pins(RUN_LOCK), pins(DEV_LOCK)

    assert not {"pytest", "playwright", "schemathesis", "ruff"} & set(run)
    assert {name: dev.get(name) for name in run} == run, "make lock resolves dev.txt within run.txt"


def test_wheel_carries_spec_handlers_and_fixtures(tmp_path: Path):
    """``make dist``'s wheel: every tracked file of credmock/, spec/, handlers/ and fixtures/ is in it, where
    ``credmock.spec`` etc. find it once installed (``pip install .`` and pipx install the same)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("credmock-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    expected = {
        f"credmock/{name}"
        for name in git("ls-files", "-z", "spec", "handlers", "fixtures")
        if not name.endswith(".md")
    } | set(git("ls-files", "-z", "credmock"))

    assert len(expected) >= 10
    assert not expected - packaged, f"missing from the wheel: {sorted(expected - packaged)}"
    assert "credmock/tools/cli.py" in packaged

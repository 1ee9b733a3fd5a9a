"""The documentation's examples work as written: every ```bash block of README.md and docs/*.md
runs against a fresh ``credmock serve``.

Conventions (for whoever writes docs):
- The line ``BASE=http://127.0.0.1:8080`` is rewritten to the fresh server's URL; the ``credmock``
  command of this environment is on ``PATH``. The block runs with ``bash -e -o pipefail`` in a
  temporary directory and must exit 0.
- The ```text block that comes next after a bash block, in the same section (prose may stand
  between), is the output it prints: each of its lines must appear in the output, in that order
  (other lines may come between); ``...`` inside a line stands for any text (a token, an id, a
  time), a line that is only ``...`` for any lines, and a run of spaces for any run of spaces.
- Other fence languages (```sh, ```console, ```yaml, ```python, ...) are not run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from credmock.tools.testing import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BASE_LINE = "BASE=http://127.0.0.1:8080"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.M | re.S)


@dataclass(frozen=True)
class Example:
    document: Path
    line: int
    script: str
    output: str | None  # the ```text block that follows it, if any

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def examples(document: Path) -> list[Example]:
    text = document.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    found = []
    for number, fence in enumerate(fences):
        if fence.group(1) != "bash":
            continue
        following = fences[number + 1] if number + 1 < len(fences) else None
        output = None
        between = text[fence.end() : following.start()] if following else ""
        if following and following.group(1) == "text" and not re.search(r"^#", between, re.M):
            output = following.group(2)
        line = text.count("\n", 0, fence.start()) + 1
        found.append(Example(document, line, fence.group(2), output))
    return found


EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


def missing_lines(expected: str, printed: str) -> list[str]:
    """The lines of ``expected`` not found, in order, in ``printed`` (``...``: any text; a run of
    spaces matches any run, so a table's column widths may differ)."""
    lines = [" ".join(line.split()) for line in printed.splitlines()]
    position = 0
    missing = []
    for wanted in expected.splitlines():
        if not wanted.strip() or wanted.strip() == "...":
            continue
        parts = " ".join(wanted.split()).split("...")
        pattern = re.compile(".*".join(re.escape(part) for part in parts))
        for index in range(position, len(lines)):
            if pattern.fullmatch(lines[index]):
                position = index + 1
                break
        else:
            missing.append(wanted)
    return missing


def run_example(example: Example, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CREDMOCK_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with ServerProcess() as server:
        script = example.script.replace(BASE_LINE, f"BASE={server.base_url}")
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=environment,
        )


def test_documents_have_examples():
    assert len(EXAMPLES) >= 5
    assert (ROOT / "docs").is_dir()


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.name for example in EXAMPLES])
def test_documented_example_runs_as_written(example: Example, tmp_path: Path):
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the documentation's examples")

    result = run_example(example, tmp_path)

    assert result.returncode == 0, f"{example.name} exited with {result.returncode}:\n{result.stderr}"
    if example.output is not None:
        missing = missing_lines(example.output, result.stdout)
        assert not missing, f"{example.name}: not printed: {missing}\nprinted:\n{result.stdout}"


def test_readme_walkthrough_shows_what_it_prints():
    """The walkthrough's output block is checked by the test above: it must name the key results."""
    [walkthrough] = [example for example in examples(ROOT / "README.md") if "reset/update" in example.script]

    assert BASE_LINE in walkthrough.script
    assert walkthrough.output is not None
    for result in ("Or enter this token: ...", '"email": "alice.new@example.com"', "InvalidAccessToken"):
        assert result in walkthrough.output


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_links_between_documents_resolve(document: Path):
    targets = [m.group(1) for m in LINK.finditer(document.read_text(encoding="utf-8"))]
    local = [target for target in targets if "://" not in target and not target.startswith("mailto:")]

    broken = [target for target in local if not (document.parent / target).exists()]
    assert not broken, f"{document.name} links to missing files: {broken}"

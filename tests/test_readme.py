"""The README's curl walkthrough works as written, against `credmock serve`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from credmock.testing import ServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"


def walkthrough_script() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_readme_walkthrough_runs_both_flows_as_written() -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the README walkthrough")
    script = walkthrough_script()
    assert "BASE=http://127.0.0.1:8080" in script
    with ServerProcess() as server:
        result = subprocess.run(
            ["bash", "-c", script.replace("BASE=http://127.0.0.1:8080", f"BASE={server.base_url}")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    statuses = re.findall(r"^(\d{3})$", result.stdout, re.M)
    # reset request, reset, old password refused, email change, confirm, state reset
    assert statuses == ["204", "204", "400", "204", "204", "204"], result.stdout
    assert "Or enter this token:" in result.stdout
    assert '"email": "alice.new@example.com"' in result.stdout
    assert '"faultstring": "Invalid access token"' in result.stdout
    assert '"status": 403' in result.stdout

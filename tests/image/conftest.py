"""The image tests build nothing and run for minutes: they are collected only when named.

`make test-image` builds the image, then runs ``pytest tests/image``; a plain ``pytest`` (and so
`make test`) leaves this folder out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent.resolve()


def named_on_command_line(config: pytest.Config) -> bool:
    """Whether an argument of this run is this folder or a path inside it."""
    for argument in config.args:
        path = Path(config.invocation_params.dir, argument.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return None if named_on_command_line(config) else True

"""Each private member of Connexion that credmock uses is still there (an upgrade that removes
one fails here, by name), and the installed Connexion is the minor version pyproject.toml pins."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncOperation
from connexion.jsonifier import Jsonifier
from connexion.validators import AbstractRequestBodyValidator, JSONRequestBodyValidator
from uvicorn.protocols.http import h11_impl, httptools_impl

from credmock.http.connexion_compat import PRIVATE_MEMBERS, PrivateMember

ROOT = Path(__file__).resolve().parent.parent

# One real instance of each class whose instances carry a private attribute credmock reads.
INSTANCES = {
    AsyncApp: lambda: AsyncApp(__name__),
    AsyncOperation: lambda: AsyncOperation(
        lambda: None, jsonifier=Jsonifier(), operation_id="probe", pythonic_params=False
    ),
    AbstractRequestBodyValidator: lambda: JSONRequestBodyValidator(
        schema={}, encoding="utf-8", strict_validation=False
    ),
}


@pytest.mark.parametrize("member", PRIVATE_MEMBERS, ids=lambda member: member.label)
def test_connexion_still_has_private_member(member: PrivateMember):
    holder = INSTANCES[member.owner]() if member.instance_attribute else member.owner
    assert hasattr(holder, member.name), f"Connexion {metadata.version('connexion')} has no {member.label}"


def test_installed_connexion_is_the_pinned_minor_version():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(dependency for dependency in dependencies if re.match(r"connexion\b", dependency))
    lower, upper = re.search(r">=(\d+\.\d+)[^,]*,\s*<(\d+\.\d+)", pin).groups()  # type: ignore[union-attr]
    installed = tuple(int(part) for part in metadata.version("connexion").split(".")[:2])

    assert tuple(map(int, upper.split("."))) == (installed[0], installed[1] + 1), pin
    assert tuple(map(int, lower.split("."))) <= installed


@pytest.mark.parametrize("protocol", [h11_impl, httptools_impl], ids=["h11", "httptools"])
def test_uvicorn_request_cycle_keeps_the_transport_its_send_is_bound_to(protocol) -> None:
    """An injected connection-reset fault reads ``transport`` off the server's ``send``."""
    cycle = protocol.RequestResponseCycle
    assert "transport" in inspect.signature(cycle.__init__).parameters
    assert "self.transport = transport" in inspect.getsource(cycle.__init__)
    assert inspect.iscoroutinefunction(cycle.send)

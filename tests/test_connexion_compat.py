"""The private members credmock reads from its web libraries: each test fails by name when an
upgrade removes one (see credmock/connexion_compat.py)."""

from __future__ import annotations

import inspect

import pytest
from uvicorn.protocols.http import h11_impl, httptools_impl


@pytest.mark.parametrize("protocol", [h11_impl, httptools_impl], ids=["h11", "httptools"])
def test_uvicorn_request_cycle_keeps_the_transport_its_send_is_bound_to(protocol) -> None:
    cycle = protocol.RequestResponseCycle
    assert "transport" in inspect.signature(cycle.__init__).parameters
    assert "self.transport = transport" in inspect.getsource(cycle.__init__)
    assert inspect.iscoroutinefunction(cycle.send)

"""Which names reach this machine only: the loopback names and addresses a request to a mock on
loopback may name in its ``Host``. Any other name there is a page of another site that made
its own name point at 127.0.0.1 (DNS rebinding), unless the user added it (``--allowed-host``),
as Vite's ``server.allowedHosts`` and Jupyter's ``allow_remote_access`` do."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = frozenset({"localhost"})


# Asked twice a request (the address it reached, the name in its Host), of a handful of values:
# remembered, bounded, so parsing an address costs a request nothing.
@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) names this machine
    only: ``localhost``, a ``*.localhost`` name (RFC 6761), 127.0.0.0/8, ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """``Host``'s name without its port: ``[::1]:8080`` -> ``::1``, ``Localhost:80`` -> ``localhost``."""
    host_header = host_header.strip().lower()
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def validate_allowed_host(name: str) -> str:
    """``name`` as ``--allowed-host`` takes it (a host name or address, no scheme, port or path),
    or ValueError."""
    clean = name.strip().lower().rstrip(".")
    if not clean or any(mark in clean for mark in "/:@?# ") or not clean.isascii() or not clean.isprintable():
        raise ValueError(
            f"--allowed-host {name!r}: give a host name such as my-laptop.local (no scheme, port or path)"
        )
    return clean


def host_allowed(host_header: str | None, allowed_hosts: Iterable[str]) -> bool:
    """Whether a request that reached a loopback address may name ``host_header``."""
    if host_header is None:  # HTTP/1.0 without Host: not a browser's request
        return True
    name = host_name(host_header)
    return is_loopback(name) or name.rstrip(".") in allowed_hosts

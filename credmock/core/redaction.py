"""Secrets never shown: the password of a URL given on the command line or in the environment."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"


def url_without_password(url: str) -> str:
    """``smtp://user:secret@host:25`` -> ``smtp://user:***@host:25``; anything that is not such a
    URL is shown only up to where a password could start."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or "@" not in parts.netloc:
        return url if "@" not in url else HIDDEN
    userinfo, _, place = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{HIDDEN}" if colon else user
    return urlunsplit(parts._replace(netloc=f"{shown}@{place}"))

"""The emails the mock sends, written as a customer would read them."""

from __future__ import annotations

from urllib.parse import quote

from credmock.outbox import EMAIL_CHANGE, PASSWORD_RESET


def build_link(template: str, *, tenant: str, token: str, email: str) -> str:
    """Fill ``{tenant}``, ``{token}`` and ``{email}`` into a link template, URL-quoted."""
    return template.format(
        tenant=quote(tenant, safe=""), token=quote(token, safe=""), email=quote(email, safe="")
    )


def check_link_template(template: str, name: str) -> None:
    """ValueError naming ``name`` when ``template`` is not a link template this module can fill."""
    try:
        build_link(template, tenant="demo", token="token", email="customer@example.com")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"{name} {template!r} cannot be filled in ({type(error).__name__}: {error}): "
            "use the placeholders {tenant}, {token} and {email}, and {{ }} for literal braces"
        ) from None


def compose(kind: str, *, name: str, token: str, link: str, lifetime_seconds: int) -> tuple[str, str]:
    """Subject and plain-text body of an email of ``kind``."""
    minutes = max(1, lifetime_seconds // 60)
    greeting = f"Hello {name}," if name else "Hello,"
    if kind == PASSWORD_RESET:
        subject = "Reset your password"
        action = (
            "We received a request to reset the password of your account.\n"
            "To choose a new password, open this link:"
        )
        ignore = "If you did not ask for this, ignore this email: your password stays as it is."
    elif kind == EMAIL_CHANGE:
        subject = "Confirm your new email address"
        action = (
            "We received a request to use this address to sign in to your account.\n"
            "To confirm it, open this link:"
        )
        ignore = "If you did not ask for this, ignore this email: nothing changes."
    else:
        raise ValueError(f"unknown email kind {kind!r}")
    body = (
        f"{greeting}\n\n{action}\n\n{link}\n\n"
        f"Or enter this token: {token}\n\n"
        f"The link expires in {minutes} minutes and works once.\n{ignore}\n"
    )
    return subject, body

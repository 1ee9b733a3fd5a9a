"""The emails the mock sends, written as a customer would read them."""

from __future__ import annotations

from html import escape
from typing import NamedTuple
from urllib.parse import quote

from credmock.core.messages import EMAIL_CHANGE, PASSWORD_RESET, SIGNUP_CONFIRMATION


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


class Composed(NamedTuple):
    subject: str
    text: str
    html: str


def compose(kind: str, *, name: str, token: str, link: str, lifetime_seconds: int) -> Composed:
    """Subject, plain-text body and HTML body of an email of ``kind``: the same words in both."""
    minutes = max(1, lifetime_seconds // 60)
    greeting = f"Hello {name}," if name else "Hello,"
    if kind == PASSWORD_RESET:
        subject = "Reset your password"
        action = (
            "We received a request to reset the password of your account.\n"
            "To choose a new password, open this link:"
        )
        button = "Choose a new password"
        ignore = "If you did not ask for this, ignore this email: your password stays as it is."
    elif kind == EMAIL_CHANGE:
        subject = "Confirm your new email address"
        action = (
            "We received a request to use this address to sign in to your account.\n"
            "To confirm it, open this link:"
        )
        button = "Confirm this address"
        ignore = "If you did not ask for this, ignore this email: nothing changes."
    elif kind == SIGNUP_CONFIRMATION:
        subject = "Activate your account"
        action = (
            "Thank you for signing up. Your account is ready but not active yet.\n"
            "To activate it and sign in, open this link:"
        )
        button = "Activate my account"
        ignore = "If you did not sign up, ignore this email: the account stays inactive."
    else:
        raise ValueError(f"unknown email kind {kind!r}")
    expiry = f"The link expires in {minutes} minutes and works once."
    text = f"{greeting}\n\n{action}\n\n{link}\n\nOr enter this token: {token}\n\n{expiry}\n{ignore}\n"
    html = _HTML_TEMPLATE.format(
        subject=escape(subject),
        greeting=escape(greeting),
        action="<br>".join(escape(line) for line in action.split("\n")),
        link=escape(link, quote=True),
        button=escape(button),
        token=escape(token),
        expiry=escape(expiry),
        ignore=escape(ignore),
    )
    return Composed(subject, text, html)


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{subject}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1d2330">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
<p style="margin:0 0 16px">{greeting}</p>
<p style="margin:0 0 24px;line-height:1.5">{action}</p>
<p style="margin:0 0 24px"><a href="{link}" style="display:inline-block;background:#3b5bdb;color:#ffffff;\
text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold">{button}</a></p>
<p style="margin:0 0 8px;font-size:13px;color:#5c6370">Or open <a href="{link}">{link}</a></p>
<p style="margin:0 0 24px;font-size:13px;color:#5c6370">or enter this token:
<code style="font-size:13px;background:#f1f3f5;padding:2px 6px;border-radius:4px">{token}</code></p>
<p style="margin:0;font-size:13px;color:#5c6370;line-height:1.5">{expiry}<br>{ignore}</p>
</div>
</body>
</html>
"""

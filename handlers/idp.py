"""The mock identity provider's pages (spec/idp.yaml, under /_mock/idp): the authorize page, the
token endpoint, the keys and the discovery document. The rules are the domain's
(:mod:`credmock.domain.identity_provider`); here the request is read and the page written."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from credmock.handlers.fields import optional_text

from credmock.core import exceptions as errors
from credmock.domain import Domain
from credmock.http.request_context import external_base_url, request_query_parameter

IDP_PATH = "/_mock/idp"
# The most customers the authorize page offers to pick from.
PICKABLE = 20
PAGE_HEADERS = {
    "Content-Type": "text/html",  # the page declares its charset (utf-8) itself
    "Content-Security-Policy": (
        # No form-action: the sign-in redirects to the client's redirect URI, on any origin.
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}
REDIRECT_PAGE = '<!DOCTYPE html><meta charset="utf-8"><title>Signed in</title>'
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The authorize request's own parameters, carried through the page's form.
OAUTH_PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def issuer_of_request(domain: Domain) -> str:
    """The provider's issuer: ``--idp-issuer`` when set, else its URL as this request reached it."""
    return domain.settings.idp_issuer or f"{external_base_url() or ''}{IDP_PATH}"


def _claims(text: str | None) -> dict[str, Any] | None:
    if text is None or text.strip() == "":
        return None
    try:
        claims = json.loads(text)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise errors.ValidationFailed.for_field("claims", "invalid_format", "'claims' must be a JSON object.")
    return claims


def _redirect(redirect_uri: str, **parameters: str | None) -> str:
    """``redirect_uri`` with ``parameters`` (those not None) added to its query."""
    parts = urlsplit(redirect_uri)
    added = urlencode({name: value for name, value in parameters.items() if value is not None})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def idp_authorize(
    domain: Domain,
    client_id: str,
    redirect_uri: str,
    response_type: str | None = None,
    scope: str | None = None,
    state: str | None = None,
    nonce: str | None = None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
    login_hint: str | None = None,
    email: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    subject: str | None = None,
    claims: str | None = None,
) -> tuple[str, int, dict[str, str]]:
    """GET /_mock/idp/authorize: the page that asks whom to sign in as; with ``email``, the sign-in
    itself, redirecting to ``redirect_uri`` with the code and the state."""
    oauth = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": response_type,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method,
    }
    if not email:
        domain.check_authorize_request(
            client_id, redirect_uri, response_type, code_challenge, code_challenge_method
        )
        page = authorize_page(
            domain, oauth, login_hint=login_hint, control_token=request_query_parameter("controlToken")
        )
        return page, 200, dict(PAGE_HEADERS)  # a copy: Connexion adds to the headers it is given
    code = domain.idp_authorize(
        client_id,
        redirect_uri,
        email=email,
        issuer=issuer_of_request(domain),
        response_type=response_type,
        scope=scope,
        nonce=nonce,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        subject=subject,
        given_name=given_name,
        family_name=family_name,
        claims=_claims(claims),
    )
    location = _redirect(redirect_uri, code=code, state=state)
    page = f'{REDIRECT_PAGE}<a href="{escape(location)}">Continue</a>'
    return page, 302, {"Location": location, "Content-Type": "text/html", **NO_STORE}


def idp_token(
    domain: Domain, body: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """POST /_mock/idp/token: the tokens of an authorization code (RFC 6749 errors)."""
    form = body if isinstance(body, dict) else {}

    def field(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    tokens = domain.idp_token(
        field("grant_type"), field("code"), field("redirect_uri"), field("client_id"), field("code_verifier")
    )
    return {**tokens, "token_type": "Bearer"}, 200, dict(NO_STORE)  # a copy: Connexion adds to it


def idp_jwks(domain: Domain) -> tuple[dict[str, Any], int]:
    """GET /_mock/idp/jwks: the public key the tokens are signed with."""
    return domain.idp_jwks(), 200


def idp_discovery(domain: Domain) -> tuple[dict[str, Any], int]:
    """GET /_mock/idp/.well-known/openid-configuration. (Its ``Host`` header parameter leaves it
    to Connexion's middleware, which knows the URL the request came to.)"""
    issuer = issuer_of_request(domain)
    base = f"{external_base_url() or ''}{IDP_PATH}"
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "jwks_uri": f"{base}/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "claims_supported": ["sub", "email", "email_verified", "given_name", "family_name", "name"],
    }, 200


def authorize_page(
    domain: Domain, oauth: dict[str, str | None], *, login_hint: str | None, control_token: str | None
) -> str:
    """The sign-in page: a form (GET, back to this URL) with the identity's fields, the authorize
    request's parameters hidden in it, and the known customers to pick from."""
    carried = {**oauth, "controlToken": control_token}
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in carried.items()
        if value is not None
    )
    people = [
        customer for tenant in domain.known_tenants for customer in domain.list_customers(tenant)[:PICKABLE]
    ][:PICKABLE]
    picks = "".join(
        f'<li><button type="submit" name="email" value="{escape(customer.email)}">'
        f"{escape(' '.join(p for p in (customer.first_name, customer.last_name) if p) or customer.email)}"
        f" <small>{escape(customer.email)} ({escape(customer.tenant)})</small></button></li>"
        for customer in people
    )
    client = escape(oauth.get("client_id") or "")
    target = escape(urlsplit(oauth.get("redirect_uri") or "").netloc)
    hint = escape(optional_text(login_hint, "login_hint") or "")
    return _PAGE.format(client=client, target=target, hidden=hidden, picks=picks, hint=hint)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>credmock identity provider: sign in</title>
<style>
body {{ margin: 0; padding: 32px; background: #f4f5f7; color: #1d2330;
  font-family: Arial, Helvetica, sans-serif; }}
main {{ max-width: 520px; margin: 0 auto; background: #fff; border-radius: 8px; padding: 28px; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
p.note {{ color: #5c6370; font-size: 13px; margin: 0 0 20px; }}
label {{ display: block; font-size: 13px; margin: 12px 0 4px; }}
input[type=email], input[type=text] {{ width: 100%; box-sizing: border-box; padding: 8px; }}
button {{ cursor: pointer; }}
#sign-in {{ margin-top: 16px; background: #3b5bdb; color: #fff; border: 0; border-radius: 6px;
  padding: 10px 18px; }}
ul {{ list-style: none; padding: 0; }}
li button {{ width: 100%; text-align: left; margin: 4px 0; padding: 8px; background: #f1f3f5;
  border: 1px solid #dee2e6; border-radius: 6px; }}
small {{ color: #5c6370; }}
details {{ margin-top: 12px; font-size: 13px; }}
</style></head>
<body><main>
<h1>Sign in to {client}</h1>
<p class="note">credmock's mock identity provider: no password, sign in as anyone.
You will be sent back to {target}.</p>
<form method="get" id="identity">
{hidden}
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{hint}" required autofocus>
<label for="given_name">First name</label>
<input type="text" id="given_name" name="given_name">
<label for="family_name">Last name</label>
<input type="text" id="family_name" name="family_name">
<details><summary>More claims</summary>
<label for="claims">Extra claims (a JSON object, added to both tokens)</label>
<input type="text" id="claims" name="claims" placeholder='{{"locale": "de"}}'>
</details>
<button type="submit" id="sign-in">Sign in</button>
</form>
<form method="get" id="pick">
{hidden}
<h2 style="font-size:15px;margin:24px 0 0">Or sign in as a known customer</h2>
<ul>{picks}</ul>
</form>
</main></body>
</html>
"""

OPERATIONS = {
    "idpAuthorize": idp_authorize,
    "idpToken": idp_token,
    "idpJwks": idp_jwks,
    "idpDiscovery": idp_discovery,
}

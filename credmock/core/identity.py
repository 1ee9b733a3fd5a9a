"""The mock identity provider's records and keys: the authorization codes it issues (kept by the
store, so any worker redeems a code another one issued) and the JOSE work of its tokens (signed
with a key kept in the store, so every worker and instance on one store signs and checks alike).

The JOSE library is joserfc: RS256 keys, JWTs, JWKS."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

SIGNING_ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
# The only PKCE method the provider takes (plain gives no protection: refused).
PKCE_METHOD = "S256"


@dataclass(frozen=True)
class AuthorizationCode:
    """A code the authorize page issued: single use, bound to the redirect URI and, with PKCE, to
    the challenge; it carries the identity signed in as."""

    value: str
    client_id: str
    redirect_uri: str
    issuer: str
    subject: str
    email: str
    expires_at: float
    given_name: str = ""
    family_name: str = ""
    nonce: str | None = None
    scope: str = "openid"
    code_challenge: str | None = None
    # Claims the person (or test) asked for, over the ones the provider sets.
    extra_claims: dict[str, Any] = field(default_factory=dict)


class TokenRejected(ValueError):
    """A JWT that is not the provider's, or not valid now; the message says why."""


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE code verifier (RFC 7636): base64url(SHA-256(verifier))."""
    digest = hashlib.sha256(verifier.encode("utf-8", errors="surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(challenge: str, verifier: str) -> bool:
    return hmac.compare_digest(pkce_challenge(verifier), challenge)


def new_signing_key() -> str:
    """A new private RSA key as a JWK (JSON text), its key id its thumbprint."""
    key = RSAKey.generate_key(
        RSA_KEY_BITS, parameters={"use": "sig", "alg": SIGNING_ALGORITHM}, auto_kid=True
    )
    return json.dumps(key.as_dict(private=True), separators=(",", ":"))


@functools.lru_cache(maxsize=4)
def _key(private_jwk: str) -> RSAKey:
    """The key of a JWK text, read once (reading checks the key, which takes milliseconds)."""
    return RSAKey.import_key(json.loads(private_jwk))


@functools.lru_cache(maxsize=4)
def _public_keys(private_jwk: str) -> KeySet:
    return KeySet([RSAKey.import_key(_key(private_jwk).as_dict(private=False))])


def public_jwks(private_jwk: str) -> dict[str, Any]:
    """The JWKS document of the key: its public half only."""
    return {"keys": [_key(private_jwk).as_dict(private=False)]}


def sign(private_jwk: str, claims: dict[str, Any]) -> str:
    key = _key(private_jwk)
    return jwt.encode({"alg": SIGNING_ALGORITHM, "typ": "JWT", "kid": key.kid}, claims, key)


def verify(private_jwk: str, token: str, *, now: float, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of ``token`` when the key signed it, ``issuer`` issued it, ``audience`` is among
    its audiences and it is valid at ``now``; TokenRejected saying why otherwise."""
    try:
        claims = jwt.decode(token, _public_keys(private_jwk), algorithms=[SIGNING_ALGORITHM]).claims
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise TokenRejected(
            f"not a JWT signed by the mock identity provider ({type(error).__name__})"
        ) from None
    if claims.get("iss") != issuer:
        raise TokenRejected(f"issuer {claims.get('iss')!r} is not {issuer!r}")
    audiences = claims.get("aud")
    if audience not in (audiences if isinstance(audiences, list) else [audiences]):
        raise TokenRejected(f"audience {audiences!r} does not include {audience!r}")
    expiry = claims.get("exp")
    if not isinstance(expiry, (int, float)) or isinstance(expiry, bool):
        raise TokenRejected("no expiry (exp)")
    if expiry <= now:
        raise TokenRejected(f"expired {now - expiry:.0f} s ago")
    not_before = claims.get("nbf")
    if isinstance(not_before, (int, float)) and not isinstance(not_before, bool) and not_before > now:
        raise TokenRejected("not valid yet (nbf)")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRejected("no subject (sub)")
    return claims

"""The mock identity provider (``/_mock/idp``): a person, or a test, signs in as any identity;
the provider redirects back with a single-use authorization code, redeems it for signed tokens
(ID token and access token, JWTs), and publishes its public key. What navikt's
mock-oauth2-server does for OIDC, enough for a storefront's "Sign in with ..." and for
``socialLogin`` and ``exchangeauthtoken`` to have a provider to trust.

Codes live in the store (any worker redeems a code another one issued, once); the signing key
too (every worker and instance on one store signs with the same key)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from credmock.core import exceptions as errors
from credmock.core.clock import Clock
from credmock.core.email_address import normalise_email
from credmock.core.identity import (
    PKCE_METHOD,
    AuthorizationCode,
    TokenRejected,
    new_signing_key,
    pkce_matches,
    public_jwks,
    sign,
    verify,
)
from credmock.core.token_source import TokenSource
from credmock.settings import Settings
from credmock.store import Store

CODE_LENGTH = 32
# RFC 7636: a challenge or verifier is 43 to 128 unreserved characters.
PKCE_TEXT = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# The longest text field of an authorize request.
MAX_TEXT = 320
# Longer than any JWT the provider signs: refused before decoding.
MAX_TOKEN_LENGTH = 16 * 1024


def _problem(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed.for_field(field, "invalid_value", message)


def _text(value: str | None, field: str, *, required: bool = False) -> str:
    """A short printable text, or a 400 naming ``field``."""
    if value is None or value == "":
        if required:
            raise errors.ValidationFailed.for_field(field, "missing_value", f"'{field}' is required.")
        return ""
    if len(value) > MAX_TEXT or not value.isprintable():
        raise _problem(field, f"'{field}' must be printable text of at most {MAX_TEXT} characters.")
    return value


class IdentityProvider:
    def __init__(self, settings: Settings, store: Store, clock: Clock, token_source: TokenSource) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.token_source = token_source
        self._signing_key: str | None = None

    @property
    def signing_key(self) -> str:
        """The store's key (made by whichever process needed it first); kept across resets, so
        this process keeps it once read."""
        if self._signing_key is None:
            self._signing_key = self.store.idp_signing_key(new_signing_key())
        return self._signing_key

    # The authorize page ---------------------------------------------------------------------------

    def idp_authorize(
        self,
        client_id: str | None,
        redirect_uri: str | None,
        *,
        email: str,
        issuer: str,
        response_type: str | None = "code",
        scope: str | None = None,
        nonce: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        subject: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign in as ``email``: a new authorization code, bound to ``redirect_uri`` and, with
        PKCE, to ``code_challenge`` (S256 only). A 400 names a field that cannot be used."""
        self.check_authorize_request(
            client_id, redirect_uri, response_type, code_challenge, code_challenge_method
        )
        email = normalise_email(_text(email, "email", required=True), "email")
        if claims is not None and not isinstance(claims, Mapping):
            raise _problem("claims", "'claims' must be a JSON object.")
        now = self.clock.now()
        code = AuthorizationCode(
            value=self.token_source.token(CODE_LENGTH),
            client_id=client_id or "",
            redirect_uri=redirect_uri or "",
            issuer=issuer,
            subject=_text(subject, "subject") or email,
            email=email,
            expires_at=now + self.settings.idp_code_lifetime,
            given_name=_text(given_name, "given_name"),
            family_name=_text(family_name, "family_name"),
            nonce=_text(nonce, "nonce") or None,
            scope=_text(scope, "scope") or "openid",
            code_challenge=code_challenge or None,
            extra_claims=dict(claims or {}),
        )
        self.store.add_authorization_code(code, now)
        return code.value

    def check_authorize_request(
        self,
        client_id: str | None,
        redirect_uri: str | None,
        response_type: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> None:
        """400 for an authorize request the provider cannot serve: before showing its page too."""
        _text(client_id, "client_id", required=True)
        target = urlsplit(_text(redirect_uri, "redirect_uri", required=True))
        if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
            raise _problem(
                "redirect_uri", "'redirect_uri' must be an absolute http(s) URL without a fragment."
            )
        if (response_type or "code") != "code":
            raise _problem("response_type", "'response_type' must be 'code' (the authorization code flow).")
        if code_challenge is not None and not PKCE_TEXT.fullmatch(code_challenge):
            raise _problem("code_challenge", "'code_challenge' must be 43 to 128 URL-safe characters.")
        if code_challenge is not None and code_challenge_method != PKCE_METHOD:
            raise _problem("code_challenge_method", f"'code_challenge_method' must be {PKCE_METHOD}.")

    # Redeeming codes ------------------------------------------------------------------------------

    def redeem(self, code: str, redirect_uri: str, code_verifier: str | None) -> AuthorizationCode:
        """The authorization of ``code``, spent whatever comes next (a code is tried once); 400
        (:class:`errors.InvalidGrant`) when unknown, spent, expired, sent with another redirect
        URI, or with a verifier that does not match its PKCE challenge (or without one)."""
        authorization = self.store.spend_authorization_code(code)
        if authorization is None:
            raise errors.InvalidGrant(reason="authorization code unknown or spent")
        if authorization.expires_at <= self.clock.now():
            raise errors.InvalidGrant(reason="authorization code expired")
        if redirect_uri != authorization.redirect_uri:
            raise errors.InvalidGrant(
                "The redirect_uri is not the one of the authorization request.", reason="another redirect_uri"
            )
        if authorization.code_challenge is None and code_verifier is not None:
            raise errors.InvalidGrant(
                "A code_verifier was sent for an authorization request without code_challenge.",
                reason="verifier without challenge",
            )
        if authorization.code_challenge is not None and (
            code_verifier is None or not pkce_matches(authorization.code_challenge, code_verifier)
        ):
            raise errors.InvalidGrant(
                "The code_verifier does not match the code_challenge.", reason="PKCE verifier mismatch"
            )
        return authorization

    def tokens_for(self, authorization: AuthorizationCode) -> dict[str, Any]:
        """The ID token and access token of a redeemed authorization, signed; their lifetime."""
        now = int(self.clock.now())
        lifetime = self.settings.idp_token_lifetime
        identity = {
            "iss": authorization.issuer,
            "sub": authorization.subject,
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
            "email": authorization.email,
            "email_verified": True,
        }
        names = {"given_name": authorization.given_name, "family_name": authorization.family_name}
        names = {claim: value for claim, value in names.items() if value}
        if names:
            names["name"] = " ".join(names.values())
        id_claims = {**identity, **names, "aud": authorization.client_id, "azp": authorization.client_id}
        if authorization.nonce:
            id_claims["nonce"] = authorization.nonce
        access_claims = {
            **identity,
            **names,
            "aud": [self.settings.idp_audience],
            "azp": authorization.client_id,
            "scope": authorization.scope,
            "jti": self.token_source.uuid(),
        }
        key = self.signing_key
        return {
            "id_token": sign(key, {**id_claims, **authorization.extra_claims}),
            "access_token": sign(key, {**access_claims, **authorization.extra_claims}),
            "expires_in": lifetime,
            "scope": authorization.scope,
        }

    def idp_token(
        self,
        grant_type: str | None,
        code: str | None,
        redirect_uri: str | None,
        client_id: str | None = None,
        code_verifier: str | None = None,
    ) -> dict[str, Any]:
        """The token endpoint: an authorization code for its tokens, errors in RFC 6749's shape."""
        if grant_type != "authorization_code":
            raise errors.OAuthError(
                "unsupported_grant_type", "Only grant_type=authorization_code is supported."
            )
        if not code or not redirect_uri:
            raise errors.OAuthError("invalid_request", "code and redirect_uri are required.")
        try:
            authorization = self.redeem(code, redirect_uri, code_verifier or None)
        except errors.InvalidGrant as error:
            raise errors.OAuthError("invalid_grant", error.message) from None
        if client_id and client_id != authorization.client_id:
            raise errors.OAuthError("invalid_grant", "The code was issued to another client_id.")
        return self.tokens_for(authorization)

    # Checking tokens ------------------------------------------------------------------------------

    def verified_claims(self, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
        """The claims of a JWT this provider signed for ``audience``, valid now; 401 otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise errors.SubjectTokenRejected("subject token longer than any the provider signs")
        try:
            return verify(self.signing_key, token, now=self.clock.now(), issuer=issuer, audience=audience)
        except TokenRejected as rejected:
            raise errors.SubjectTokenRejected(f"subject token refused: {rejected}") from None

    def idp_jwks(self) -> dict[str, Any]:
        """The provider's public keys (JWKS)."""
        return public_jwks(self.signing_key)

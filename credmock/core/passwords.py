"""Salted password hashes. The mock never keeps a password in clear text."""

from __future__ import annotations

import hashlib
import hmac

ALGORITHM = "pbkdf2_sha256"
# A mock needs hashes that are not plain text and not slow: a few thousand iterations keep a
# login well under a millisecond while nothing readable is ever stored.
ITERATIONS = 2_000


def hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    return f"{ALGORITHM}${ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if algorithm != ALGORITHM:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest.hex(), digest_hex)

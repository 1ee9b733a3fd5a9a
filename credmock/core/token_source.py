"""Where every random value of the mock comes from: tokens, identifiers, salts."""

from __future__ import annotations

import os
import random
import secrets
import string
import threading
import uuid

ALPHABET = string.ascii_letters + string.digits


def _byte_mapping(alphabet: str) -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table and deletion set that turn random bytes into characters of
    ``alphabet`` without modulo bias: only the bytes below the largest multiple of its length map
    (byte % length), the others are dropped (rejection sampling)."""
    accepted = 256 - 256 % len(alphabet)
    table = bytes(ord(alphabet[byte % len(alphabet)]) if byte < accepted else 0 for byte in range(256))
    return table, bytes(range(accepted, 256))


_ALPHABET_BYTES = _byte_mapping(ALPHABET)
_DIGIT_BYTES = _byte_mapping(string.digits)


def _system_random_string(length: int, mapping: tuple[bytes, bytes]) -> str:
    """``length`` characters from the OS CSPRNG: one ``os.urandom`` call per string, not per
    character (a call per character was 14% of the server's time under load)."""
    table, rejected = mapping
    text = b""
    while len(text) < length:  # each byte is kept with probability >= 97%, so this rarely loops
        text += os.urandom(length - len(text) + 8).translate(table, rejected)
    return text[:length].decode("ascii")


class TokenSource:
    """Random strings, unguessable by default, reproducible when seeded.

    Without a seed the values come from the operating system's CSPRNG (``secrets``); with a
    seed they come from a seeded ``random.Random``, so a CI run gets the same tokens, ids and
    fake customers every time. ``reset()`` restarts the sequence.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._random: random.Random = (
                secrets.SystemRandom() if self.seed is None else random.Random(self.seed)
            )

    def token(self, length: int) -> str:
        """``length`` characters of ``[A-Za-z0-9]``."""
        return self._string(ALPHABET, _ALPHABET_BYTES, length)

    def uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def digits(self, length: int) -> str:
        return self._string(string.digits, _DIGIT_BYTES, length)

    def _string(self, alphabet: str, mapping: tuple[bytes, bytes], length: int) -> str:
        if self.seed is None:
            return _system_random_string(length, mapping)
        with self._lock:
            return "".join(self._random.choices(alphabet, k=length))

    def salt(self) -> bytes:
        with self._lock:
            return self._random.getrandbits(128).to_bytes(16, "big")

    def integer(self) -> int:
        """A 32-bit integer, to seed other generators (Faker) from this one."""
        with self._lock:
            return self._random.getrandbits(32)

"""Where every random value of the mock comes from: tokens, identifiers, salts."""

from __future__ import annotations

import random
import secrets
import string
import threading
import uuid

ALPHABET = string.ascii_letters + string.digits


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
        with self._lock:
            return "".join(self._random.choice(ALPHABET) for _ in range(length))

    def uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def digits(self, length: int) -> str:
        with self._lock:
            return "".join(self._random.choice(string.digits) for _ in range(length))

    def salt(self) -> bytes:
        with self._lock:
            return self._random.getrandbits(128).to_bytes(16, "big")

    def integer(self) -> int:
        """A 32-bit integer, to seed other generators (Faker) from this one."""
        with self._lock:
            return self._random.getrandbits(32)

"""Reads of a SQLite file kept until the next commit to it, by any process, noticed without a
statement.

A file in WAL mode has a WAL index beside it (the ``-shm`` file, shared memory of every process
that has the file open) whose header changes with each committed transaction (a transaction
that changes nothing leaves it; restarting the WAL after a checkpoint changes it, which only
costs the next read its statement). Its layout is part of SQLite's documented file format
(https://www.sqlite.org/walformat.html, section 2.1): two copies of 48 bytes, the first starting
with the format version 3007000 in native byte order, byte 12 the ``isInit`` flag. A writer
updates the second copy, then the first; a reader that finds them different is reading
mid-update, and keeps nothing.

The header is read from a shared mapping of the file, as SQLite reads it: a few hundred
nanoseconds, with no system call (in a busy server, a ``pread`` costs about 3.5 µs and a
statement about 10). A storefront sends the same access token with every request: its statement
is the one this saves (docs/performance.md).

SQLite keeps POSIX locks on the ``-shm`` file, and closing *any* descriptor of a file drops every
such lock the process holds on it. So this module opens one descriptor and one mapping per file
and process, shared by every store on the file, and closes them only when the last of those
stores is closed, after its connections. While a connection of this process has the file open,
SQLite never shrinks the ``-shm`` file (it does so only when no process has it open), so the
mapping stays valid.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import threading
from pathlib import Path
from typing import Generic, TypeVar

from credmock.store.base import KEPT_TOKENS

T = TypeVar("T")

HEADER = 48
FORMAT_VERSION = (3007000).to_bytes(4, sys.byteorder)
IS_INIT = 12


class _OpenIndex:
    """One ``-shm`` file open in this process: its descriptor, its mapping, the marks using it."""

    def __init__(self, name: str) -> None:
        self.fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.header: mmap.mmap | None = None  # None: shorter than a header, not set up
        with contextlib.suppress(OSError, ValueError):
            self.header = mmap.mmap(self.fd, 2 * HEADER, access=mmap.ACCESS_READ)
        self.users = 0  # the descriptor stays open until the last of them closes, mapped or not


# The WAL indexes open in this process, by (device, inode).
_OPEN: dict[tuple[int, int], _OpenIndex] = {}
_OPEN_LOCK = threading.Lock()


class CommitMark:
    """What the WAL-index header of the file ``path`` says now: equal marks, no commit between them.

    Open it while a connection of this process has the file open in WAL mode (SQLite then keeps
    the ``-shm`` file, deleting it only when the last connection anywhere closes), and close it
    after this store's connections."""

    def __init__(self, path: Path) -> None:
        self._key: tuple[int, int] | None = None
        self._header: mmap.mmap | None = None
        name = f"{path}-shm"
        with _OPEN_LOCK:
            try:  # stat, not open: a second descriptor, once closed, would drop SQLite's locks
                found = os.stat(name)
                key = (found.st_dev, found.st_ino)
                if key not in _OPEN:
                    _OPEN[key] = _OpenIndex(name)
            except OSError:  # no WAL index (another VFS, a file system without shared memory)
                return
            _OPEN[key].users += 1
            self._key, self._header = key, _OPEN[key].header

    def read(self) -> bytes | None:
        """The header, or None when it tells nothing (a writer is updating it, the index is not
        set up, the mark is closed)."""
        mapping = self._header
        if mapping is None:
            return None
        try:
            header = mapping[: 2 * HEADER]
        except ValueError:  # closed meanwhile
            return None
        first = header[:HEADER]
        if first != header[HEADER:] or not first.startswith(FORMAT_VERSION) or first[IS_INIT] != 1:
            return None
        return first

    def close(self) -> None:
        """Stop reading; the file closes with the last mark of it in this process."""
        with _OPEN_LOCK:
            key, self._key, self._header = self._key, None, None
            if key is None:
                return
            index = _OPEN[key]
            index.users -= 1
            if index.users == 0:
                del _OPEN[key]
                if index.header is not None:
                    index.header.close()
                with contextlib.suppress(OSError):
                    os.close(index.fd)


class KeptUntilCommit(Generic[T]):
    """Values read from the file, each with the mark read before it: a value is given back only
    while the mark is still the same, i.e. nothing was committed since it was read. Each entry
    carries its own mark, so threads keeping and reading at once never pair a value with a mark
    it was not read under."""

    KEPT = KEPT_TOKENS

    def __init__(self) -> None:
        self._values: dict[str, tuple[bytes, T]] = {}

    def get(self, key: str, mark: bytes | None) -> T | None:
        kept = self._values.get(key) if mark is not None else None
        return kept[1] if kept is not None and kept[0] == mark else None

    def keep(self, key: str, mark: bytes | None, value: T) -> None:
        """Keep ``value``, read after ``mark`` was (a None mark keeps nothing)."""
        if mark is None:
            return
        if len(self._values) >= self.KEPT:
            self._values.clear()
        self._values[key] = (mark, value)

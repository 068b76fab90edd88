"""`LiveReader`: the newest consistent snapshot of a home, for a long-running server.

Each request takes one `Reader` from `get()` and uses only it, so a response never mixes asset
versions; new materializations are noticed by re-reading the catalog at most every
`check_every` seconds, without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from splat_core.query.reader import Reader
from splat_core.store import homes


class LiveReader:
    def __init__(
        self,
        home: str | Path,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.home = homes.normalize(home)
        self.check_every = check_every
        self._clock = clock
        self._reader = Reader.open(self.home)
        self._checked = clock()
        self._lock = threading.Lock()

    def get(self) -> Reader:
        """The current snapshot; one request at a time re-checks the catalog when it is due,
        the others keep the snapshot they have instead of waiting."""
        if self._clock() - self._checked >= self.check_every and self._lock.acquire(False):
            try:
                self._reader = self._reader.successor()
                self._checked = self._clock()
            finally:
                self._lock.release()
        return self._reader

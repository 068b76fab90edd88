"""`LiveReader`: the newest consistent snapshot of a home, for a long-running server.

Each request takes one `Reader` from `get()` and uses only it, so a response never mixes asset
versions; new materializations are noticed by re-reading the catalog at most every
`check_every` seconds, without a restart. There is one live snapshot per SAE variant asked
for (the default's opened at once, another's on first use), each advanced alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from splat_core.query.errors import UnknownSAEError
from splat_core.query.reader import Reader
from splat_core.store import homes
from splat_core.store.contract import DEFAULT_SAE


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
        # variant -> [its current snapshot, when the catalog was last checked for it]
        self._live: dict[str, list] = {DEFAULT_SAE: [Reader.open(self.home), clock()]}
        self._lock = threading.Lock()
        self._opening = threading.Lock()

    def get(self, sae: str | None = None) -> Reader:
        """The current snapshot of SAE variant `sae` (None: the default); one request at a
        time re-checks the catalog when it is due, the others keep the snapshot they have
        instead of waiting. UnknownSAEError for a variant the served generation does not
        hold (or no longer holds)."""
        sae = sae or DEFAULT_SAE
        entry = self._live.get(sae)
        if entry is None:
            with self._opening:
                entry = self._live.get(sae)
                if entry is None:  # raises UnknownSAEError unless the generation holds it
                    entry = [Reader.open(self.home, sae), self._clock()]
                    self._live = {**self._live, sae: entry}
            return entry[0]
        if self._clock() - entry[1] >= self.check_every and self._lock.acquire(False):
            try:
                entry[0] = entry[0].successor()
                entry[1] = self._clock()
            except UnknownSAEError:  # the generation dropped it: open it anew next time
                with self._opening:
                    self._live = {k: v for k, v in self._live.items() if k != sae}
                raise
            finally:
                self._lock.release()
        return entry[0]

    @property
    def saes(self) -> list[str]:
        """The variants the newest default snapshot's generation holds."""
        return self.get().saes

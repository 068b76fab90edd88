"""A byte-bounded LRU of serialized answers, for a server asked the same large activation
list repeatedly. Keys name the data version, so a new materialization never hits old bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class AnswerCache:
    def __init__(self, max_bytes: int, min_bytes: int = 1 << 20):
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes  # smaller answers are cheap to rebuild: not worth a slot
        self._items: OrderedDict[Hashable, memoryview | bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get_or_build(
        self, key: Hashable, build: Callable[[], memoryview | bytes]
    ) -> tuple[memoryview | bytes, bool]:
        """(answer, hit). Two concurrent misses on one key may both build; one is kept."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key], True
            self.misses += 1
        value = build()
        size = len(value)
        if self.min_bytes <= size <= self.max_bytes:
            with self._lock:
                if key not in self._items:
                    self._items[key] = value
                    self._bytes += size
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= len(old)
        return value, False

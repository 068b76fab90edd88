"""Bounds on the work one request may cause, and the pool heavy requests run in.

Heavy routes (batches, model runs, whole activation lists, the feature index) run in a pool
of their own: at most `workers` at once, each in its own thread, and at most `queue` more
waiting, each for at most `max_wait_s`. Beyond that the request is refused at once with 503
and a `Retry-After`. Cheap reads and `/health` run in FastAPI's own thread pool, which heavy
work therefore can never fill: they stay fast under any load of heavy requests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")

# Cost bounds, checked before any work: see models.py (batch parts) and the routes.
MAX_BATCH_COST = 2048  # features x (table parts + examples) of one /batch/features
MAX_BATCH_ROWS = 2_000_000  # activation rows of one /batch/activations/arrow
MAX_QUANTILE_EXAMPLES = 2_000  # n_bins x per_bin of one quantile page


class Overloaded(Exception):
    """The heavy pool is full: the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy with heavy requests; retry after {retry_after} s")
        self.retry_after = retry_after


class WorkPool:
    def __init__(self, workers: int = 2, queue: int = 8, max_wait_s: float = 10.0):
        self.workers, self.queue, self.max_wait_s = workers, queue, max_wait_s
        self._slots = anyio.Semaphore(workers)
        self._threads = anyio.CapacityLimiter(workers)
        self.waiting = 0
        self.refused = 0

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.max_wait_s / 2))

    async def run(self, fn: Callable[[], T]) -> T:
        """fn() in a pool thread once a slot is free; Overloaded if the queue is full or the
        wait would exceed max_wait_s."""
        if self.waiting >= self.queue:
            self.refused += 1
            raise Overloaded(self.retry_after)
        self.waiting += 1
        try:
            with anyio.move_on_after(self.max_wait_s) as waited:
                await self._slots.acquire()
        finally:
            self.waiting -= 1
        if waited.cancelled_caught:
            self.refused += 1
            raise Overloaded(self.retry_after)
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self._threads)
        finally:
            self._slots.release()

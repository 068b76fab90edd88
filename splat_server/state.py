"""What the app holds between requests: settings, the live reader, the answer cache, the
heavy-work pool, the label store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from splat_core.labels import LabelStore
from splat_core.query import LiveReader
from splat_server.answer_cache import AnswerCache
from splat_server.limits import WorkPool
from splat_server.settings import ServerSettings


@dataclass
class ServerState:
    settings: ServerSettings
    live: LiveReader
    cache: AnswerCache
    pool: WorkPool
    started: float = field(default_factory=time.monotonic)
    _labels: LabelStore | None = None

    @classmethod
    def create(cls, settings: ServerSettings) -> ServerState:
        live = LiveReader(settings.home, settings.check_every)
        pool = WorkPool(settings.heavy_workers, settings.heavy_queue, settings.heavy_wait_s)
        return cls(settings, live, AnswerCache(settings.cache_mb << 20), pool)

    @property
    def labels(self) -> LabelStore:
        if self._labels is None:  # created on first use: a read-only API never writes
            self._labels = LabelStore.open(self.settings.home)
        return self._labels

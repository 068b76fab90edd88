"""What the app holds between requests: settings, the live reader, the answer cache, the
heavy-work pool, the label stores (one per SAE variant)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from splat_core.labels import LabelStore
from splat_core.query import LiveReader
from splat_core.store.contract import DEFAULT_SAE
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
    _labels: dict[str, LabelStore] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: ServerSettings) -> ServerState:
        live = LiveReader(settings.home, settings.check_every)
        pool = WorkPool(settings.heavy_workers, settings.heavy_queue, settings.heavy_wait_s)
        return cls(settings, live, AnswerCache(settings.cache_mb << 20), pool)

    def labels(self, sae: str = DEFAULT_SAE) -> LabelStore:
        """The label store of SAE variant `sae` (feature ids are each SAE's own)."""
        store = self._labels.get(sae)
        if store is None:  # its file is created by the first write: a read-only API never writes
            store = self._labels[sae] = LabelStore.open(self.settings.home, sae)
        return store

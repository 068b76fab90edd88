"""`Snapshot`: one generation of a home (store/generations.py), and what was loaded from it.

At open (and on `refresh()`) the served generation is resolved once: the exact version of
every asset in it, computed from each other. Every later read goes to those version
directories, so a snapshot stays consistent while newer versions are being published, and
never sees a run that has not completed. (A home without generations is read from its
CURRENT pointers.) Loaded artifacts are cached with the versions they were read from.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from splat_core.query.errors import MissingAssetError
from splat_core.store import catalog, generations, homes
from splat_core.store.catalog import local_path, read_catalog


class Snapshot:
    def __init__(self, home: str | Path):
        self.home = homes.normalize(home)  # a Path, or an fsspec URL (see store/homes.py)
        self._lock = threading.RLock()
        # name -> (assets it was read from, their versions then, the value)
        self._cache: dict[str, tuple[tuple[str, ...], tuple, object]] = {}
        self._memo: tuple[dict | None, dict] = (None, {})  # (_versions it is for, stamps)
        self._paths, self._versions, self.generation = _resolve(self.home)

    @classmethod
    def open(cls, home: str | Path) -> Self:
        return cls(home)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._cache.clear()

    def successor(self) -> Self:
        """A new snapshot of the newest CURRENT versions (self if nothing changed), which takes
        over whatever this one loaded that is still current. Unlike `refresh()`, this one is
        left untouched: requests already using it finish on the versions they started on."""
        paths, versions, generation = _resolve(self.home)
        if versions == self._versions:
            return self
        new = type(self).__new__(type(self))
        new.home, new._lock, new._memo = self.home, threading.RLock(), (None, {})
        new._paths, new._versions, new.generation = paths, versions, generation
        with self._lock:
            new._cache = {n: hit for n, hit in self._cache.items() if new._current(hit)}
        return new

    def refresh(self) -> bool:
        """Switch to the newest CURRENT versions; True if any asset changed."""
        with self._lock:
            before = self._versions
            self._paths, self._versions, self.generation = _resolve(self.home)
            changed = before != self._versions
            if changed:  # drop what was loaded from versions no longer current
                self._cache = {n: hit for n, hit in self._cache.items() if self._current(hit)}
            return changed

    @property
    def versions(self) -> dict[str, str]:
        """Asset -> resolved version; partitioned assets as "asset/partition"."""
        return dict(self._versions)

    @property
    def data_version(self) -> str:
        """A short hash of every resolved version: equal iff the snapshots are equal."""
        blob = json.dumps(sorted(self._versions.items())).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def path(self, asset: str) -> Path:
        """The resolved version's local directory (for a remote home, its copy in the local
        cache, fetched when first asked for)."""
        if asset not in self._paths:
            raise MissingAssetError(asset, self.home)
        return local_path(self.home, self._paths[asset])

    def partitions(self, asset: str) -> dict[str, Path]:
        prefix = f"{asset}/"
        keys = sorted(k for k in self._paths if k.startswith(prefix))
        if not keys:
            raise MissingAssetError(asset, self.home)
        return {k[len(prefix) :]: local_path(self.home, self._paths[k]) for k in keys}

    def cached(self, name: str, assets: tuple[str, ...], load: Callable[[], object]):
        """`load()`'s value, computed once per versions of `assets` it reads."""
        stamp = self._stamp(assets)
        hit = self._cache.get(name)
        if hit is not None and hit[1] == stamp:
            return hit[2]
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[1] == stamp:
                return hit[2]
            value = load()
            self._cache[name] = (assets, stamp, value)
            return value

    def _stamp(self, assets: tuple[str, ...]) -> tuple:
        """The versions of `assets`, memoized per resolution (every read asks): the memo
        names the versions dict it was made from, so a refresh can never leave it stale."""
        versions = self._versions
        owner, memo = self._memo
        if owner is not versions:
            memo = {}
            self._memo = (versions, memo)
        stamp = memo.get(assets)
        if stamp is None:
            stamp = memo[assets] = tuple(sorted((k, v) for k, v in versions.items()
                                                if k.split("/")[0] in assets))  # fmt: skip
        return stamp

    def _current(self, hit: tuple) -> bool:
        return hit[1] == self._stamp(hit[0])


def _resolve(home: Path | str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """(location, version) of every asset (partitions as "asset/partition") of the served
    generation, and its id; the CURRENT pointers of a home without one. A location is a
    path (local home) or a URL (remote home), made local by `local_path`."""
    gen = generations.served(home)
    if gen is None:
        paths, versions = {}, {}
        for asset, entry in read_catalog(home).items():
            for key, e in _entries(asset, entry):
                paths[key], versions[key] = e["path"], e["version"]
        return paths, versions, None
    versions = dict(gen["versions"])
    paths = {}
    for key, version in versions.items():
        asset, _, part = key.partition("/")
        paths[key] = str(catalog.asset_root(home, asset, part or None)) + "/" + version
    return paths, versions, gen["id"]


def _entries(asset: str, entry: dict):
    if "partitions" in entry:
        for key, e in entry["partitions"].items():
            yield f"{asset}/{key}", e
    if "path" in entry:
        yield asset, entry

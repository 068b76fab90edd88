"""`Snapshot`: one generation of a home (store/generations.py), and what was loaded from it.

At open (and on `refresh()`) the served generation is resolved once: the exact version of
every asset in it, computed from each other. Every later read goes to those version
directories, so a snapshot stays consistent while newer versions are being published, and
never sees a run that has not completed. (A home without generations is read from its
CURRENT pointers.) Loaded artifacts are cached with the versions they were read from.

A snapshot reads one SAE variant (store/variants.py): the per-SAE assets it asks for by
their plain names (`feature_store`, `activations`, ...) are that variant's stored versions
(`feature_store@wide`: contract.stored_name); the shared ones (samples, builds, the model)
are everyone's. A variant other than the default must be held completely by the generation
(`saes`), else UnknownSAEError.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from splat_core.query.errors import MissingAssetError, UnknownSAEError
from splat_core.store import catalog, generations, homes
from splat_core.store.catalog import local_path, read_catalog
from splat_core.store.contract import (
    DEFAULT_SAE,
    PER_SAE_ASSETS,
    SAE_SEP,
    SPECS,
    split_stored,
    stored_name,
)


class Snapshot:
    def __init__(self, home: str | Path, sae: str = DEFAULT_SAE):
        self.home = homes.normalize(home)  # a Path, or an fsspec URL (see store/homes.py)
        self.sae = sae or DEFAULT_SAE
        self._lock = threading.RLock()
        # name -> (stored names it was read from, their versions then, the value)
        self._cache: dict[str, tuple[tuple[str, ...], tuple, object]] = {}
        self._memo: tuple[dict | None, dict] = (None, {})  # (_versions it is for, stamps)
        self._set(*_resolve(self.home))

    @classmethod
    def open(cls, home: str | Path, sae: str = DEFAULT_SAE) -> Self:
        return cls(home, sae)

    def _set(self, paths: dict, versions: dict, generation: str | None) -> None:
        """Take a resolution, after checking it holds this snapshot's variant."""
        saes = _held(versions)
        if self.sae != DEFAULT_SAE and self.sae not in saes:
            raise UnknownSAEError(self.sae, saes)
        self._paths, self._versions, self.generation, self._saes = (
            paths, versions, generation, saes)  # fmt: skip

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
        new.home, new.sae, new._lock, new._memo = self.home, self.sae, threading.RLock(), (None, {})
        new._set(paths, versions, generation)
        with self._lock:
            new._cache = {n: hit for n, hit in self._cache.items() if new._current(hit)}
        return new

    def refresh(self) -> bool:
        """Switch to the newest CURRENT versions; True if any asset changed."""
        with self._lock:
            before = self._versions
            self._set(*_resolve(self.home))
            changed = before != self._versions
            if changed:  # drop what was loaded from versions no longer current
                self._cache = {n: hit for n, hit in self._cache.items() if self._current(hit)}
            return changed

    @property
    def saes(self) -> list[str]:
        """The SAE variants the generation holds completely (default first): each one's
        per-SAE assets are all there (those the default variant has, at least)."""
        return list(self._saes)

    def stored(self, asset: str) -> str:
        """The stored name (directory, catalog and generation key) of `asset` as this
        snapshot reads it: a per-SAE asset of a variant is `asset@variant`."""
        return stored_name(asset, self.sae) if asset in SPECS else asset

    @property
    def versions(self) -> dict[str, str]:
        """Asset -> resolved version of what this snapshot reads: the shared assets and its
        variant's per-SAE ones, by their plain names; partitioned assets as
        "asset/partition". (`all_versions`: every key of the generation.)"""
        out = {}
        for key, version in self._versions.items():
            name, slash, part = key.partition("/")
            asset, sae = split_stored(name)
            if sae == self.sae or (sae == DEFAULT_SAE and not _per_sae(asset)):
                out[asset + slash + part] = version
        return out

    @property
    def all_versions(self) -> dict[str, str]:
        """Every resolved key of the generation (every variant's) -> version."""
        return dict(self._versions)

    @property
    def data_version(self) -> str:
        """A short hash of every resolved version (and of the variant, unless the default):
        equal iff the snapshots are equal."""
        blob = json.dumps(sorted(self._versions.items())).encode()
        if self.sae != DEFAULT_SAE:
            blob += f"{SAE_SEP}{self.sae}".encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def path(self, asset: str) -> Path:
        """The resolved version's local directory (for a remote home, its copy in the local
        cache, fetched when first asked for)."""
        key = self.stored(asset)
        if key not in self._paths:
            raise MissingAssetError(key, self.home)
        return local_path(self.home, self._paths[key])

    def partitions(self, asset: str) -> dict[str, Path]:
        key = self.stored(asset)
        prefix = f"{key}/"
        keys = sorted(k for k in self._paths if k.startswith(prefix))
        if not keys:
            raise MissingAssetError(key, self.home)
        return {k[len(prefix) :]: local_path(self.home, self._paths[k]) for k in keys}

    def cached(self, name: str, assets: tuple[str, ...], load: Callable[[], object]):
        """`load()`'s value, computed once per versions of `assets` it reads (plain names:
        this snapshot's variant of the per-SAE ones)."""
        assets = tuple(self.stored(a) for a in assets)
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


def _per_sae(asset: str) -> bool:
    spec = SPECS.get(asset)
    return spec is not None and spec.per_sae


def _held(versions: dict[str, str]) -> list[str]:
    """The variants whose feature store the keys hold, and every per-SAE asset the default
    variant has: the default first, then by name."""
    present: dict[str, set[str]] = {}
    for key in versions:
        asset, sae = split_stored(key.split("/")[0])
        if asset in PER_SAE_ASSETS:
            present.setdefault(sae, set()).add(asset)
    need = {"feature_store"} | (present.get(DEFAULT_SAE, set()) & set(PER_SAE_ASSETS))
    held = [s for s, assets in present.items() if s != DEFAULT_SAE and need <= assets]
    first = [DEFAULT_SAE] if "feature_store" in present.get(DEFAULT_SAE, set()) else []
    return first + sorted(held)


def _entries(asset: str, entry: dict):
    if "partitions" in entry:
        for key, e in entry["partitions"].items():
            yield f"{asset}/{key}", e
    if "path" in entry:
        yield asset, entry

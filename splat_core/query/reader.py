"""`Reader`: the one query layer over a materialized SPLAT_HOME (server, UI and CLI).

At open (and on `refresh()`) the CURRENT version of every asset is resolved once; every later
read goes to those version directories, so a reader keeps one consistent view while newer
versions are being published. Everything is loaded lazily and cached per asset version.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import operator
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import zarr

from splat_core import homes
from splat_core.artifacts import (
    load_checkpoint,
    open_zarr_artifact,
    read_samples_dir,
    read_vocab_dir,
)
from splat_core.catalog import local_path, read_catalog
from splat_core.query.activation_list import activation_table, select_rows
from splat_core.query.encode import Encoder, Encoding, WhatIf
from splat_core.query.errors import MissingAssetError, UnknownFeatureError, UnknownSampleError
from splat_core.query.examples import Example, SampleIndex, quantile_pick
from splat_core.query.tables import KeyedTable

FEATURE_TABLES = (
    "feature_stats",
    "feature_histograms",
    "feature_tokens",
    "feature_weapons",
    "feature_influence",
    "feature_neighbors",
)


class Reader:
    def __init__(self, home: str | Path):
        self.home = homes.normalize(home)  # a Path, or an fsspec URL (see splat_core.homes)
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[tuple, object]] = {}
        self._paths: dict[str, str] = {}
        self._versions: dict[str, str] = {}
        self._resolve()

    @classmethod
    def open(cls, home: str | Path) -> Reader:
        return cls(home)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- the snapshot ---------------------------------------------------------------------
    def _resolve(self) -> None:
        self._paths, self._versions = _snapshot(self.home)

    def successor(self) -> Reader:
        """A new reader on the newest CURRENT versions (self if nothing changed), which takes
        over whatever this one loaded that is still current. Unlike `refresh()`, this reader
        is left untouched: requests already using it finish on the version they started on."""
        paths, versions = _snapshot(self.home)
        if versions == self._versions:
            return self
        new = Reader.__new__(Reader)
        new.home, new._lock = self.home, threading.RLock()
        new._paths, new._versions = paths, versions
        with self._lock:
            new._cache = {
                name: hit
                for name, hit in self._cache.items()
                if hit[0] == new._stamp(_DEPS[name.split(":")[0]](name))
            }
        return new

    def refresh(self) -> bool:
        """Switch to the newest CURRENT versions; True if any asset changed."""
        with self._lock:
            before = dict(self._versions)
            self._resolve()
            changed = before != self._versions
            if changed:  # drop what was loaded from versions no longer current
                for name in list(self._cache):
                    if self._cache[name][0] != self._stamp(_DEPS[name.split(":")[0]](name)):
                        del self._cache[name]
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

    def _stamp(self, assets: tuple[str, ...]) -> tuple:
        return tuple(
            sorted(
                (k, v)
                for k, v in self._versions.items()
                if k in assets or k.split("/")[0] in assets
            )
        )

    def _get(self, name: str, load: Callable[[], object]):
        stamp = self._stamp(_DEPS[name.split(":")[0]](name))
        hit = self._cache.get(name)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            value = load()
            self._cache[name] = (stamp, value)
            return value

    # --- cached artifacts -------------------------------------------------------------------
    @property
    def csc(self):
        return self._get("csc", lambda: open_zarr_artifact(self.path("feature_store")))

    @property
    def samples(self) -> SampleIndex:
        def load():
            shards = [read_samples_dir(p) for p in self.partitions("samples").values()]
            return SampleIndex(shards)

        return self._get("samples", load)

    def activation_shards(self) -> list:
        """The activation CSR shards (`CSRStore`), in sample order."""
        return self._shards()[1]

    def _shards(self) -> tuple[list[int], list]:
        def load():
            stores = [open_zarr_artifact(p) for p in self.partitions("activations").values()]
            stores.sort(key=lambda s: s.sample_start)
            return [s.sample_start for s in stores], stores

        return self._get("shards", load)

    def table(self, asset: str) -> KeyedTable:
        """An analysis table, read once: `<asset>/<asset>.parquet` keyed by feature_id
        (token_idf by token_id)."""
        key = "token_id" if asset == "token_idf" else "feature_id"
        return self._get(
            f"table:{asset}", lambda: KeyedTable(self.path(asset) / f"{asset}.parquet", key)
        )

    def _influence_matrix(self) -> np.ndarray:
        def load():
            arr = zarr.open_array(str(self.path("feature_influence") / "influence.zarr"), mode="r")
            return np.asarray(arr[:], dtype=np.float32)

        return self._get("influence_matrix", load)

    @property
    def vocabularies(self):
        return self._get("vocab", lambda: read_vocab_dir(self.path("vocab")))

    @property
    def encoder(self) -> Encoder:
        def load():
            model = load_checkpoint(self.path("base_model"))
            sae = load_checkpoint(self.path("sae"))
            return Encoder(model, sae, *self.vocabularies)

        return self._get("encoder", load)

    # --- features ---------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return int(self.csc.n_features)

    @property
    def n_samples(self) -> int:
        return int(self.csc.n_samples)

    def feature_ids(self) -> np.ndarray:
        return np.arange(self.n_features)

    def feature_counts(self) -> np.ndarray:
        """Nonzero activations per feature, int64 [F]."""
        return self.csc.nnz_per_feature()

    def check_feature(self, f) -> int:
        """f as an int if it is a feature of the store, else UnknownFeatureError."""
        return self._feature(f)

    def _feature(self, f) -> int:
        try:
            f = operator.index(f)
        except TypeError:
            raise UnknownFeatureError(f) from None
        if isinstance(f, bool) or not 0 <= f < self.n_features:
            raise UnknownFeatureError(f, self.n_features)
        return f

    def activations(self, f: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(global sample ids, activations), highest first; `limit` keeps the top entries."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        ids, values = self.csc.feature(self._feature(f), limit=limit)
        return np.asarray(ids, dtype=np.int64), np.asarray(values, dtype=np.float32)

    def activation_list(
        self,
        f: int,
        limit: int | None = None,
        sample_frac: float | None = None,
        seed: int = 0,
        include_abilities: bool = True,
    ) -> pa.Table:
        """The seed server's activation rows for feature f, highest first: an optional seeded
        sample of `sample_frac` of the entries, then the top `limit` of them."""
        f = self._feature(f)
        csc = self.csc
        rows = select_rows(int(csc.ptr[f + 1] - csc.ptr[f]), limit, sample_frac, seed)
        # the store's own id dtype (uint32 up to 4G samples) all the way: no widening copies
        if isinstance(rows, slice):  # top-N: read only those entries
            ids, values = csc.feature(f, limit=rows.stop)
        else:
            ids, values = csc.feature(f)
            ids, values = ids[rows], values[rows]
        idx = self.samples
        tokens = idx.packed_tokens.lists(ids) if include_abilities else None
        return activation_table(ids, values, np.take(idx.weapon16, ids), tokens)

    def top_examples(self, f: int, k: int = 20) -> list[Example]:
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        ids, values = self.activations(f, limit=k)
        return self.samples.examples(ids, values, np.arange(1, len(ids) + 1))

    def quantile_examples(
        self, f: int, n_bins: int = 10, per_bin: int = 5, seed: int = 0
    ) -> list[Example]:
        """Examples spread over the activation range: per quantile bin of the feature's
        nonzero values, up to `per_bin` seeded random ones (bins low to high)."""
        ids, values = self.activations(f)
        pos, bins, lo, hi = quantile_pick(values, n_bins, per_bin, seed)
        return self.samples.examples(ids[pos], values[pos], pos + 1, bins=(bins, lo, hi))

    # --- analysis tables --------------------------------------------------------------------
    def feature_rows(self, asset: str, f: int) -> list[dict]:
        """The rows of analysis table `asset` for feature f."""
        if asset not in FEATURE_TABLES:
            raise ValueError(f"{asset} is not a feature table ({', '.join(FEATURE_TABLES)})")
        f = self._feature(f)
        return self.table(asset).rows(f)

    def stats(self, f: int) -> dict:
        """The feature's row of feature_stats ({} if the table holds none)."""
        rows = self.feature_rows("feature_stats", f)
        return rows[0] if rows else {}

    def histogram(self, f: int) -> list[dict]:
        return self.feature_rows("feature_histograms", f)

    def tokens(self, f: int) -> list[dict]:
        return self.feature_rows("feature_tokens", f)

    def weapons(self, f: int) -> list[dict]:
        return self.feature_rows("feature_weapons", f)

    def influence(self, f: int) -> list[dict]:
        return self.feature_rows("feature_influence", f)

    def neighbors(self, f: int) -> list[dict]:
        return self.feature_rows("feature_neighbors", f)

    def token_idf(self) -> list[dict]:
        return self.table("token_idf").all_rows()

    def token_features(self, token: str | int, k: int = 20, sign: str = "+") -> list[dict]:
        """Features that push `token` up ("+": largest positive influence) or down ("-":
        most negative), from the token's row of the influence matrix; at most k."""
        if sign not in ("+", "-"):
            raise ValueError(f"sign must be '+' or '-', got {sign!r}")
        matrix = self._influence_matrix()
        vocab = self.vocabularies[0]
        if isinstance(token, str):
            if token not in vocab.token_to_id:
                raise KeyError(f"unknown token {token!r}")
            t = vocab.token_to_id[token]
        else:
            t = operator.index(token)
            if not 0 <= t < matrix.shape[0]:
                raise KeyError(f"token id {t} out of range [0, {matrix.shape[0]})")
        row = matrix[t]
        order = np.argsort(-row if sign == "+" else row, kind="stable")[: max(k, 0)]
        # Only features that push the right way: a "+" list never ends in negative values.
        keep = row[order] > 0 if sign == "+" else row[order] < 0
        return [{"feature_id": int(f), "value": float(row[f])} for f in order[keep]]

    # --- samples ----------------------------------------------------------------------------
    def _sample(self, sample_id) -> tuple[object, int]:
        """(CSR shard, local row) of a global sample id."""
        try:
            s = operator.index(sample_id)
        except TypeError:
            raise UnknownSampleError(sample_id) from None
        starts, stores = self._shards()
        i = bisect.bisect_right(starts, s) - 1
        if isinstance(s, bool) or i < 0 or s >= stores[i].sample_start + stores[i].shape[0]:
            raise UnknownSampleError(sample_id)
        return stores[i], s - stores[i].sample_start

    def sample_features(self, sample_id: int, k: int = 20) -> list[dict]:
        """The sample's top-k features (ties by feature id), read from its CSR shard."""
        shard, row = self._sample(sample_id)
        features, values = shard.row(row)
        order = np.lexsort((features, -values))[: max(k, 0)]
        return [{"feature_id": int(features[j]), "activation": float(values[j])} for j in order]

    def sample(self, sample_id: int) -> dict:
        """A sample's weapon, input tokens and build id."""
        self._sample(sample_id)
        idx, s = self.samples, int(sample_id)
        weapon = asdict(idx.weapons[int(idx.weapon[s])])
        return {
            "sample_id": s,
            "weapon": weapon,
            "tokens": idx.tokens(s),
            "build_id": int(idx.build_id[s]),
        }

    # --- encoding ---------------------------------------------------------------------------
    def encode(self, weapon_id: int, abilities: Mapping[str, int]) -> Encoding:
        return self.encoder.encode(weapon_id, abilities)

    def whatif(
        self,
        weapon_id: int,
        abilities: Mapping[str, int],
        feature: int | None = None,
        top_changes: int = 5,
    ) -> WhatIf:
        if feature is not None:
            feature = self._feature(feature)
        return self.encoder.whatif(weapon_id, abilities, feature, top_changes)


def _snapshot(home: Path | str) -> tuple[dict[str, str], dict[str, str]]:
    """(location, version) of every asset's CURRENT version; partitions as "asset/partition".
    A location is a path (local home) or a URL (remote home), made local by `local_path`."""
    paths, versions = {}, {}
    for asset, entry in read_catalog(home).items():
        for key, e in _entries(asset, entry):
            paths[key], versions[key] = e["path"], e["version"]
    return paths, versions


def _entries(asset: str, entry: dict):
    if "partitions" in entry:
        for key, e in entry["partitions"].items():
            yield f"{asset}/{key}", e
    if "path" in entry:
        yield asset, entry


_DEPS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "csc": lambda _: ("feature_store",),
    "samples": lambda _: ("samples",),
    "shards": lambda _: ("activations",),
    "table": lambda name: (name.split(":")[1],),
    "influence_matrix": lambda _: ("feature_influence",),
    "vocab": lambda _: ("vocab",),
    "encoder": lambda _: ("base_model", "sae", "vocab"),
}

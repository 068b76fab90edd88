"""`Reader`: the one query layer over a materialized SPLAT_HOME (server, UI and CLI).

At open (and on `refresh()`) the CURRENT version of every asset is resolved once; every later
read goes to those version directories, so a reader keeps one consistent view while newer
versions are being published. Everything is loaded lazily and cached per asset version.
"""

from __future__ import annotations

import bisect
import json
import operator
from collections.abc import Mapping
from dataclasses import asdict

import numpy as np
import pyarrow as pa
import zarr

from splat_core.builds.sample_meta import SampleMeta
from splat_core.explain.inputs import InputTable
from splat_core.explain.search import Explainer, config_from_json
from splat_core.explain.table import CONFIG_KEY
from splat_core.query.activation_list import activation_table, select_rows
from splat_core.query.encode import Encoder, Encoding, WhatIf
from splat_core.query.errors import UnknownFeatureError, UnknownSampleError
from splat_core.query.examples import Example, SampleIndex, quantile_pick
from splat_core.query.json_rows import RowTails
from splat_core.query.snapshot import Snapshot
from splat_core.query.tables import KeyedTable
from splat_core.sparse import CSCStore
from splat_core.store import contract
from splat_core.store.artifacts import SAEComparison, open_artifact, table_path, verified
from splat_core.store.contract import INFLUENCE_ZARR, METRICS_JSON, SAE_CONFIG

# The SAE's quality measures `sae_info` reports (sae/metrics.py: metrics.json)
SAE_INFO_METRICS = ("explained_variance", "loss_recovered", "mean_l0", "dead_fraction",
                    "n_dead", "mse")  # fmt: skip


class Reader(Snapshot):
    """Queries over one snapshot of a home (see Snapshot): every answer of a reader comes
    from the same asset versions."""

    # --- cached artifacts -------------------------------------------------------------------
    @property
    def csc(self) -> CSCStore:
        load = lambda: open_artifact(self.path("feature_store"))  # noqa: E731
        return self.cached("csc", ("feature_store",), load)

    @property
    def samples(self) -> SampleIndex:
        def load():
            shards = [open_artifact(p) for p in self.partitions("samples").values()]
            return SampleIndex(shards)

        return self.cached("samples", ("samples",), load)

    @property
    def builds(self):
        """The full builds (`BuildTable`) the samples are partial subsets of."""
        load = lambda: open_artifact(self.path("builds"))  # noqa: E731
        return self.cached("builds", ("builds",), load)

    def row_tails(self, include_abilities: bool = True) -> RowTails:
        """Every sample's JSON row text after its activation (json_rows.py), written once."""

        def load():
            idx = self.samples
            return RowTails(idx.weapon, idx.token_lists() if include_abilities else None)

        return self.cached(f"row_tails:{include_abilities}", ("samples",), load)

    def activation_shards(self) -> list:
        """The activation CSR shards (`CSRStore`), in sample order."""
        return self._shards()[1]

    def _shards(self) -> tuple[list[int], list]:
        def load():
            stores = [open_artifact(p) for p in self.partitions("activations").values()]
            stores.sort(key=lambda s: s.sample_start)
            return [s.sample_start for s in stores], stores

        return self.cached("shards", ("activations",), load)

    def table(self, asset: str) -> KeyedTable:
        """An analysis table, read once, keyed by its contract key (feature_id; token_idf
        by token_id)."""
        key = contract.spec(asset).key
        if key is None:
            raise ValueError(f"{asset} is not an analysis table")

        def load():
            directory = self.path(asset)
            verified(directory)  # the Parquet file against the version's checksums
            return KeyedTable(table_path(directory, asset), key)

        return self.cached(f"table:{asset}", (asset,), load)

    def _influence_matrix(self) -> np.ndarray:
        def load():
            directory = self.path("feature_influence")
            verified(directory)
            arr = zarr.open_array(str(directory / INFLUENCE_ZARR), mode="r")
            return np.asarray(arr[:], dtype=np.float32)

        return self.cached("influence_matrix", ("feature_influence",), load)

    @property
    def vocabularies(self):
        return self.cached("vocab", ("vocab",), lambda: open_artifact(self.path("vocab")))

    @property
    def encoder(self) -> Encoder:
        def load():
            model = open_artifact(self.path("base_model"))
            sae = open_artifact(self.path("sae"))
            return Encoder(model, sae, *self.vocabularies)

        return self.cached("encoder", ("base_model", "sae", "vocab"), load)

    def sae_info(self) -> dict:
        """This snapshot's SAE variant: {"name", "arch", "n_features", "k", "metrics"} from
        its sae version's config and metrics.json (quality measures: SAE_INFO_METRICS)."""

        def load():
            directory = self.path("sae")
            verified(directory)
            files = [directory / name for name in (SAE_CONFIG, METRICS_JSON)]
            config, metrics = (json.loads(f.read_text()) if f.exists() else {} for f in files)
            return {
                "name": self.sae,
                "arch": config.get("arch"),
                "n_features": metrics.get("n_features", config.get("n_features")),
                "k": config.get("k"),
                "metrics": {k: metrics[k] for k in SAE_INFO_METRICS if k in metrics},
            }

        return self.cached("sae_info", ("sae",), load)

    def sae_comparison(self) -> SAEComparison:
        """The generation's `sae_comparison` (shared by every variant's reader): `variants`
        (pyarrow, one row per SAE variant, default first), `matching` (pyarrow, every pair's
        matched features) and `summary` (its JSON: each pair's counts, summary, absorption).
        MissingAssetError when the generation has none."""
        load = lambda: open_artifact(self.path("sae_comparison"))  # noqa: E731
        return self.cached("sae_comparison", ("sae_comparison",), load)

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
        rows = select_rows(int(csc.indptr[f + 1] - csc.indptr[f]), limit, sample_frac, seed)
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
        if asset not in contract.FEATURE_TABLES:
            known = ", ".join(contract.FEATURE_TABLES)
            raise ValueError(f"{asset} is not a feature table ({known})")
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

    def correlations(self, f: int) -> list[dict]:
        """The features whose activations correlate most with f's (Pearson), by rank."""
        return self.feature_rows("feature_correlations", f)

    def map_point(self, f: int) -> dict:
        """f's row of feature_map ({feature_id, x, y}; {} for a zero decoder direction)."""
        rows = self.feature_rows("feature_map", f)
        return rows[0] if rows else {}

    def explanations(self, f: int) -> list[dict]:
        """The feature's best rules with their held-out scores, best first."""
        return self.feature_rows("feature_explanations", f)

    @property
    def explainer(self) -> Explainer:
        """Rules over every sample, split as the feature_explanations table was (its
        config is in the table), so a rule scored later is scored on the same held-out rows."""

        def load():
            schema = self.table("feature_explanations").table.schema
            config = config_from_json((schema.metadata or {})[CONFIG_KEY])
            idx = self.samples
            meta = SampleMeta(idx.weapon, idx.offsets, idx.token_ids, idx.vocab,
                              idx.weapon_vocab)  # fmt: skip
            return Explainer(InputTable.from_meta(meta), config)

        return self.cached("explainer", ("samples", "feature_explanations"), load)

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

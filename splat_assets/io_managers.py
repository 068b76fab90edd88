"""IO managers: they own every path under SPLAT_HOME and publish atomically.

SPLAT_HOME may be a local directory or an fsspec URL (`s3://bucket/prefix`): catalog.publish
uploads a remote home's versions and catalog.current_path gives a local copy, so assets only
ever see local directories.

An asset writes its files into the staging directory `SplatSettings.staging_dir` gave it and
returns `Staged(dir, metadata)`; the IO manager makes that directory the current version
(catalog.publish). Loading returns the artifact opened by its kind: Parquet tables, Zarr
stores (lazily), checkpoints as modules. A non-partitioned asset that reads a partitioned
one receives {partition: artifact}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pyarrow.parquet as pq

from splat_core import artifacts, catalog

ANALYSIS = ("feature_stats", "feature_histograms", "token_idf", "feature_tokens",
            "feature_weapons", "feature_influence", "feature_neighbors")  # fmt: skip


@dataclass
class Staged:
    path: Path
    metadata: dict = field(default_factory=dict)


class _VersionedIOManager(dg.ConfigurableIOManager):
    home: str

    kinds: ClassVar[tuple[str, ...]] = ()

    def handle_output(self, context: dg.OutputContext, obj: Staged) -> None:
        if not isinstance(obj, Staged):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected Staged, got {obj!r}")
        kind = artifacts.artifact_kind(obj.path)
        if kind not in self.kinds:
            raise TypeError(f"{type(self).__name__} stores {self.kinds}, not {kind!r}")
        partition = context.partition_key if context.has_partition_key else None
        final = catalog.publish(self.home, _name(context), obj.path, obj.metadata, partition)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(final))})

    def load_input(self, context: dg.InputContext):
        upstream = context.upstream_output
        name = _name(upstream) if upstream is not None else context.asset_key.path[-1]
        if context.has_asset_partitions and not context.has_partition_key:
            return {
                key: self.load_path(catalog.current_path(self.home, name, key))
                for key in sorted(context.asset_partition_keys)
            }
        partition = context.asset_partition_key if context.has_asset_partitions else None
        return self.load_path(catalog.current_path(self.home, name, partition))

    def load_path(self, path: Path):
        raise NotImplementedError


def _name(context) -> str:
    return context.asset_key.path[-1]


class ParquetIOManager(_VersionedIOManager):
    """vocab, builds, samples (with their vocabularies) and the analysis tables."""

    kinds: ClassVar[tuple[str, ...]] = ("vocab", "builds", "samples", *ANALYSIS)

    def load_path(self, path: Path):
        kind = artifacts.artifact_kind(path)
        if kind in ANALYSIS:
            return pq.read_table(path / f"{kind}.parquet")
        if kind == "builds":
            return artifacts.read_builds_dir(path)
        if kind == "samples":
            return artifacts.read_samples_dir(path)
        return artifacts.read_vocab_dir(path)


class ZarrIOManager(_VersionedIOManager):
    """pooled, activations, feature_store: Zarr v3 arrays and sparse groups, opened lazily."""

    kinds: ClassVar[tuple[str, ...]] = ("pooled", "activations", "feature_store")

    def load_path(self, path: Path):
        return artifacts.open_zarr_artifact(path)


class CheckpointIOManager(_VersionedIOManager):
    """base_model and sae: safetensors + JSON config + metrics, loaded as torch modules."""

    kinds: ClassVar[tuple[str, ...]] = ("model", "sae")

    def load_path(self, path: Path):
        return artifacts.load_checkpoint(path)

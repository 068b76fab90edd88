"""IO managers: they own every path under SPLAT_HOME and publish atomically.

SPLAT_HOME may be a local directory or an fsspec URL (`s3://bucket/prefix`): catalog.publish
uploads a remote home's versions and catalog.current_path gives a local copy, so assets only
ever see local directories.

An asset writes its files into the staging directory `SplatSettings.staging` gave it and
returns `Staged(dir, metadata)`; the IO manager makes that directory the current version
(catalog.publish). Loading returns the artifact opened by its kind (store.artifacts
.open_artifact): Parquet tables, Zarr stores (lazily), checkpoints as modules. A
non-partitioned asset that reads a partitioned one receives {partition: artifact}. Which
kinds each manager stores is the asset contract's `io_manager`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import dagster as dg

from splat_core.pipeline.code_versions import asset_code_version
from splat_core.pipeline.config import SplatConfig
from splat_core.store import artifacts, catalog, contract, lineage, lock, publishing


@dataclass
class Staged:
    path: Path
    metadata: dict = field(default_factory=dict)
    config: SplatConfig | None = None  # fingerprinted into the version's lineage
    owner: str | None = None  # the writer (resources.writer) that holds the home
    step_lock: bool = False  # the step took the lock itself: give it back once published


class _VersionedIOManager(dg.ConfigurableIOManager):
    home: str

    key: ClassVar[contract.IOManager]

    def handle_output(self, context: dg.OutputContext, obj: Staged) -> None:
        if not isinstance(obj, Staged):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected Staged, got {obj!r}")
        kind = artifacts.artifact_kind(obj.path)
        if kind not in contract.kinds(self.key):
            raise TypeError(
                f"{type(self).__name__} stores {contract.kinds(self.key)}, not {kind!r}"
            )
        partition = context.partition_key if context.has_partition_key else None
        try:
            final = publishing.publish(self.home, _name(context), obj.path, obj.metadata,
                                       partition, config=obj.config, owner=obj.owner,
                                       code=asset_code_version(_name(context)))  # fmt: skip
        finally:
            if obj.step_lock:
                lock.release(self.home, obj.owner)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(final))})

    def load_input(self, context: dg.InputContext):
        upstream = context.upstream_output
        name = _name(upstream) if upstream is not None else context.asset_key.path[-1]
        cat = catalog.read_catalog(self.home)
        if context.has_asset_partitions and not context.has_partition_key:
            return {key: self._open(name, key, cat) for key in sorted(context.asset_partition_keys)}
        partition = context.asset_partition_key if context.has_asset_partitions else None
        return self._open(name, partition, cat)

    def _open(self, name: str, partition: str | None, cat: dict):
        """The input's current version, refused if it is stale (computed from inputs that
        have changed since): a step never combines versions not computed from each other."""
        if lineage.key_of(name, partition) in lineage.entries(cat):
            lineage.check_current(lineage.key_of(name, partition), cat)
        return artifacts.open_artifact(catalog.current_path(self.home, name, partition))


def _name(context) -> str:
    return context.asset_key.path[-1]


class ParquetIOManager(_VersionedIOManager):
    """vocab, builds, samples (with their vocabularies) and the analysis tables."""

    key: ClassVar[contract.IOManager] = "parquet_io"


class ZarrIOManager(_VersionedIOManager):
    """pooled, activations, feature_store: Zarr v3 arrays and sparse groups, opened lazily."""

    key: ClassVar[contract.IOManager] = "zarr_io"


class CheckpointIOManager(_VersionedIOManager):
    """base_model and sae: safetensors + JSON config + metrics, loaded as torch modules."""

    key: ClassVar[contract.IOManager] = "checkpoint_io"


def io_managers(home: str) -> dict[str, _VersionedIOManager]:
    """Every IO manager of the contract, by resource key."""
    return {m.key: m(home=home) for m in (ParquetIOManager, ZarrIOManager, CheckpointIOManager)}

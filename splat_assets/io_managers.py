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

from splat_assets.partitions import Location, location
from splat_core.pipeline.code_versions import asset_code_version
from splat_core.pipeline.config import SplatConfig
from splat_core.store import artifacts, catalog, contract, lock, publishing


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

    def handle_output(self, context: dg.OutputContext, obj: Staged | dict[str, Staged]) -> None:
        """Publish the staged version: one `Staged` for an unpartitioned asset or one SAE
        variant's; {partition key: Staged} from a shard asset's run, for every partition of
        its range (one, or all shards in a single-run backfill)."""
        name = _name(context)
        if contract.spec(name).partitioned:
            if not isinstance(obj, dict) or set(obj) != set(context.asset_partition_keys):
                raise TypeError(f"{name}: expected {{partition: Staged}} for "
                                f"{sorted(context.asset_partition_keys)}, got {obj!r}")  # fmt: skip
            staged = sorted(obj.items())
        else:
            staged = [(context.partition_key if context.has_partition_key else None, obj)]
        paths = {}
        try:
            for key, one in staged:
                paths[str(key)] = str(self._publish(context, one, location(name, key)))
        finally:
            if staged and staged[0][1].step_lock:
                lock.release(self.home, staged[0][1].owner)
        if len(paths) == 1:
            context.add_output_metadata({"path": dg.MetadataValue.path(next(iter(paths.values())))})
        else:
            context.add_output_metadata({"paths": dg.MetadataValue.json(paths)})

    def _publish(self, context: dg.OutputContext, obj: Staged, where: Location):
        if not isinstance(obj, Staged):
            raise TypeError(f"{_name(context)}: expected Staged, got {obj!r}")
        kind = artifacts.artifact_kind(obj.path)
        if kind not in contract.kinds(self.key):
            raise TypeError(
                f"{type(self).__name__} stores {contract.kinds(self.key)}, not {kind!r}"
            )
        return publishing.publish(self.home, where.stored, obj.path, obj.metadata, where.shard,
                                  config=obj.config, owner=obj.owner,
                                  code=asset_code_version(_name(context)))  # fmt: skip

    def load_input(self, context: dg.InputContext):
        """The input's current version opened: an unpartitioned one, or the one partition
        this run reads (its shard, its SAE variant); else {shard: artifact} (every shard of
        an input, or of a variant's activations) or {variant: artifact} (a range of
        activations over several variants reading their SAEs)."""
        upstream = context.upstream_output
        name = _name(upstream) if upstream is not None else context.asset_key.path[-1]
        cat = catalog.read_catalog(self.home)
        if not context.has_asset_partitions:
            return artifacts.open_input(self.home, name, None, cat)
        where = [location(name, k) for k in sorted(context.asset_partition_keys)]
        reader = contract.SPECS.get(context.op_def.name)  # the asset reading it
        one = (
            len(where) == 1
            and reader is not None
            and (
                (contract.spec(name).partitioned and reader.partitioned)
                or (not contract.spec(name).partitioned and reader.per_sae)
            )
        )
        if one:
            return artifacts.open_input(self.home, where[0].stored, where[0].shard, cat)
        by = "shard" if contract.spec(name).partitioned else "sae"
        return {getattr(w, by): artifacts.open_input(self.home, w.stored, w.shard, cat)
                for w in where}  # fmt: skip


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

"""The partitions of the asset graph, and where a partition lives under SPLAT_HOME.

Two dimensions: the shards of the samples (their number is the profile's), and the SAE
variants of the home (`sae`, named by the user: store/variants.py). Both are static
partitions, read when the definitions load: the variants from the home's SAE_VARIANTS.json,
so a variant added with `splat sae add` shows in a running Dagster UI once its code location
is reloaded. (Dynamic partitions were tried: Dagster 1.13's Dask executor cannot ship a
run of a dynamic partition to its workers, and every partition status read needs the
instance threaded through.) The shared
assets before the SAE are partitioned by shard or not at all; the per-SAE assets
(contract.PER_SAE_ASSETS) by variant, and `activations` by variant x shard. So the Dagster UI
shows a home's SAEs as partitions of the same assets, each with lineage to the same pooled
vectors. The default variant is stored under the plain names, another one as
`<asset>@<variant>` (contract.stored_name).
"""

from __future__ import annotations

from typing import NamedTuple

import dagster as dg

from splat_core.store import contract
from splat_core.store.contract import DEFAULT_SAE, AssetSpec

SAE_DIM, SHARD_DIM = "sae", "shard"  # a MultiPartitionKey's string is "<sae>|<shard>"


class Partitions(NamedTuple):
    """The two dimensions of a deployment."""

    shards: dg.StaticPartitionsDefinition
    saes: dg.StaticPartitionsDefinition


def graph_partitions(n_shards: int, saes: list[str]) -> Partitions:
    return Partitions(shard_partitions(n_shards), dg.StaticPartitionsDefinition(list(saes)))


def shard_partitions(n_shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(contract.shard_keys(n_shards))


def partitions_of(spec: AssetSpec, parts: Partitions) -> dg.PartitionsDefinition | None:
    if spec.per_sae and spec.partitioned:
        return dg.MultiPartitionsDefinition({SAE_DIM: parts.saes, SHARD_DIM: parts.shards})
    if spec.per_sae:
        return parts.saes
    return parts.shards if spec.partitioned else None


def mapping(spec: AssetSpec, dep: AssetSpec) -> dg.PartitionMapping | None:
    """How asset `spec`'s partitions read input `dep`'s (None: Dagster's default, identity
    or an unpartitioned side). A variant reads its own SAE's assets and every shard of the
    shared ones; a variant's shard reads its shard."""
    if not (dep.per_sae or dep.partitioned) or (spec.per_sae, spec.partitioned) == (
        dep.per_sae,
        dep.partitioned,
    ):
        return None
    if spec.per_sae and spec.partitioned:  # activations: the variant's SAE, the shard's pooled
        return dg.MultiToSingleDimensionPartitionMapping(SAE_DIM if dep.per_sae else SHARD_DIM)
    if spec.per_sae and dep.per_sae:  # feature_store: all shards of its variant's activations
        return dg.MultiToSingleDimensionPartitionMapping(SAE_DIM)
    return dg.AllPartitionMapping()  # every shard (or every variant) of the input


class Location(NamedTuple):
    """Where a Dagster partition of an asset is stored."""

    stored: str
    """The asset's directory under the home (`sae`, `sae@wide`)."""
    shard: str | None
    """Its shard, for a shard asset."""
    sae: str
    """Its SAE variant (the default for shared assets)."""


def location(asset: str, key: str | None) -> Location:
    spec = contract.spec(asset)
    if key is None or not (spec.per_sae or spec.partitioned):
        return Location(asset, None, DEFAULT_SAE)
    if spec.per_sae and spec.partitioned:
        dims = _dimensions(key)
        return Location(contract.stored_name(asset, dims[SAE_DIM]), dims[SHARD_DIM], dims[SAE_DIM])
    if spec.per_sae:
        return Location(contract.stored_name(asset, str(key)), None, str(key))
    return Location(asset, str(key), DEFAULT_SAE)


def _dimensions(key) -> dict[str, str]:
    by_dimension = getattr(key, "keys_by_dimension", None)
    if by_dimension is not None:
        return dict(by_dimension)
    return dict(zip(sorted((SAE_DIM, SHARD_DIM)), str(key).split("|"), strict=True))


def multi_key(sae: str, shard: str) -> str:
    return "|".join(v for _, v in sorted({SAE_DIM: sae, SHARD_DIM: shard}.items()))


def sae_of(context) -> str:
    """The variant a run's step computes (the default for shared assets)."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return DEFAULT_SAE
    saes = {location(context.asset_key.path[-1], k).sae for k in context.partition_keys}
    if len(saes) != 1:
        raise ValueError(f"one run computes one SAE variant's asset, got {sorted(saes)}")
    return saes.pop()

"""Samples: the analysed examples, deterministic partial builds in shards.

Build b's instances get sample ids b * per .. b * per + per - 1 (per = instances, plus one
if the full build is included), so ids are global, contiguous per shard, and a pure function
of (seed, build id, instance): shards can be (re)computed independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from splat_core.builds.subsets import fixed_subsets
from splat_core.builds.table import BuildTable


@dataclass
class SampleTable:
    sample_id: np.ndarray  # int64 [n]
    build_id: np.ndarray  # int64 [n]
    instance: np.ndarray  # int16 [n]
    inputs: BuildTable  # the partial builds: weapon + input tokens

    def __len__(self) -> int:
        return len(self.sample_id)

    @property
    def sample_start(self) -> int:
        return int(self.sample_id[0]) if len(self) else 0


def shard_builds(n_builds: int, n_shards: int, shard: int) -> np.ndarray:
    """Build ids of one shard: contiguous, near-equal ranges."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range 0..{n_shards - 1}")
    bounds = np.linspace(0, n_builds, n_shards + 1).round().astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1])


def make_samples(
    builds: BuildTable,
    build_ids: np.ndarray,
    instances: int,
    include_full: bool,
    seed: int,
) -> SampleTable:
    per = instances + int(include_full)
    table = builds.subset(build_ids)
    rows, instance, batch = fixed_subsets(
        table, build_ids, instances, seed, include_full=include_full
    )
    pad = builds.vocab.pad_id
    lengths = (batch.tokens != pad).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    inputs = BuildTable(
        table.weapon[rows], offsets, batch.tokens[batch.tokens != pad], builds.vocab,
        builds.weapon_vocab,
    )  # fmt: skip
    build_id = np.asarray(build_ids, dtype=np.int64)[rows]
    return SampleTable(build_id * per + instance, build_id, instance.astype(np.int16), inputs)


def write_samples_parquet(samples: SampleTable, path: str | Path) -> None:
    t = samples.inputs
    pq.write_table(
        pa.table(
            {
                "sample_id": samples.sample_id,
                "build_id": samples.build_id,
                "instance": samples.instance,
                "weapon_id": t.weapon,
                "tokens": pa.ListArray.from_arrays(
                    pa.array(t.offsets.astype(np.int32)), pa.array(t.token_ids.astype(np.int16))
                ),
            }
        ),
        path,
    )


def read_samples_parquet(path: str | Path, builds: BuildTable) -> SampleTable:
    """Read a samples shard; `builds` supplies the vocabularies."""
    t = pq.read_table(path)
    tokens = t.column("tokens").combine_chunks()
    offsets = tokens.offsets.to_numpy().astype(np.int64)
    inputs = BuildTable(
        t.column("weapon_id").to_numpy(), offsets - offsets[0],
        tokens.flatten().to_numpy().astype(np.int32), builds.vocab, builds.weapon_vocab,
    )  # fmt: skip
    return SampleTable(
        t.column("sample_id").to_numpy(),
        t.column("build_id").to_numpy(),
        t.column("instance").to_numpy(),
        inputs,
    )

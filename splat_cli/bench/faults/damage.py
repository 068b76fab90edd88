"""Damage done to the files of a served generation, as disks and people do it: a chunk
deleted, truncated, overwritten with garbage or 0xFF, values rescaled into valid chunks,
broken JSON metadata, an edited vocabulary. Each kind returns what it damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from splat_core.store import catalog, generations
from splat_core.store.contract import CSC_ZARR, CSR_ZARR, SAMPLES_PARQUET, VOCAB_JSON
from splat_core.store.integrity import read_manifest


@dataclass
class Damaged:
    asset: str  # as a DamagedError names it: "feature_store", "activations[0]"
    version: str
    file: str  # relative to the version directory
    directory: Path  # the version directory (to back up and restore)


def version_dir(home: Path, key: str) -> Path:
    """The served generation's directory of `key` ("feature_store", "activations/0"); a
    key ending in "/*" means the asset's first shard."""
    gen = generations.served(home)
    if key.endswith("/*"):
        key = sorted(k for k in gen["versions"] if k.startswith(key[:-1]))[0]
    asset, _, partition = key.partition("/")
    return catalog.version_path(home, asset, gen["versions"][key], partition or None)


def _target(directory: Path, rel: str) -> tuple[Damaged, Path]:
    manifest = read_manifest(directory)
    part = manifest.get("partition")
    name = manifest["asset"] + (f"[{part}]" if part is not None else "")
    return Damaged(name, manifest["version"], rel, directory), directory / rel


def _chunk(directory: Path, array: str, which: str = "largest") -> tuple[Damaged, Path]:
    """A chunk file of the array `array` ("csc.zarr/data"): the largest, or the first."""
    chunks = [p for p in (directory / array / "c").rglob("*") if p.is_file()]
    if not chunks:
        raise FileNotFoundError(f"{directory}: no chunk files under {array}")
    path = max(chunks, key=lambda p: p.stat().st_size) if which == "largest" else min(chunks)
    return _target(directory, path.relative_to(directory).as_posix())


def delete_data_chunk(directory: Path) -> Damaged:
    d, path = _chunk(directory, f"{CSC_ZARR}/data")
    path.unlink()
    return d


def delete_indptr_chunk(directory: Path) -> Damaged:
    d, path = _chunk(directory, f"{CSC_ZARR}/indptr", "first")
    path.unlink()
    return d


def garbage_indptr(directory: Path) -> Damaged:
    d, path = _chunk(directory, f"{CSC_ZARR}/indptr", "first")
    rng = np.random.default_rng(0)
    path.write_bytes(rng.integers(0, 256, path.stat().st_size, dtype=np.uint8).tobytes())
    return d


def ff_chunk(array: str) -> Callable[[Path], Damaged]:
    def inject(directory: Path) -> Damaged:
        d, path = _chunk(directory, array)
        path.write_bytes(b"\xff" * path.stat().st_size)
        return d

    return inject


def truncate_data_chunk(directory: Path) -> Damaged:
    d, path = _chunk(directory, f"{CSC_ZARR}/data")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return d


def values_times_3(directory: Path) -> Damaged:
    """Every activation x3, written back through zarr: valid chunks with wrong numbers."""
    array = zarr.open_array(str(directory / CSC_ZARR / "data"), mode="r+")
    array[:] = np.asarray(array[:]) * 3
    return _chunk(directory, f"{CSC_ZARR}/data")[0]


def broken_zarr_json(directory: Path) -> Damaged:
    d, path = _target(directory, f"{CSC_ZARR}/data/zarr.json")
    path.write_text(path.read_text()[:40])
    return d


def truncate_samples(directory: Path) -> Damaged:
    d, path = _target(directory, SAMPLES_PARQUET)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    return d


def swap_tokens(directory: Path) -> Damaged:
    """A valid vocabulary with two ability names swapped: decodes into wrong names."""
    d, path = _target(directory, VOCAB_JSON)
    vocab = json.loads(path.read_text())
    names = sorted(vocab, key=vocab.get)
    a, b = names[-1], names[-2]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    path.write_text(json.dumps(vocab))
    return d


@dataclass(frozen=True)
class Kind:
    what: str
    key: str  # which served version it damages (see version_dir)
    inject: Callable[[Path], Damaged]  # damages the version directory, says what it did


FS = "feature_store"
# The first seven are the kinds issue 14 reported; then one of each other file family.
KINDS: dict[str, Kind] = {
    "data_chunk_deleted": Kind("feature store: a data chunk deleted", FS, delete_data_chunk),
    "indptr_chunk_deleted": Kind("feature store: an indptr chunk deleted", FS,
                                 delete_indptr_chunk),
    "indptr_garbage": Kind("feature store: random bytes in indptr", FS, garbage_indptr),
    "data_chunk_ff": Kind("feature store: a data chunk overwritten with 0xFF", FS,
                          ff_chunk(f"{CSC_ZARR}/data")),
    "values_x3": Kind("feature store: every value x3, valid chunks", FS, values_times_3),
    "data_chunk_truncated": Kind("feature store: a data chunk cut in half", FS,
                                 truncate_data_chunk),
    "zarr_json_broken": Kind("feature store: data/zarr.json cut short", FS, broken_zarr_json),
    "csr_chunk_ff": Kind("activation shard: a CSR data chunk overwritten with 0xFF",
                         "activations/*", ff_chunk(f"{CSR_ZARR}/data")),
    "samples_truncated": Kind("samples shard: parquet file cut short", "samples/*",
                              truncate_samples),
    "vocab_swapped": Kind("vocab: two ability names swapped in vocab.json", "vocab",
                          swap_tokens),
}  # fmt: skip

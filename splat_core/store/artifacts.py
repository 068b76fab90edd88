"""Asset directories: how each kind of artifact is written into, and read from, a directory.

Every directory holds `artifact.json` ({"kind": ..., "format": ...}) so that a reader (an IO
manager, the query layer, an outside tool) opens it without knowing who wrote it. The file
names and formats are the asset contract's (store/contract.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zarr

from splat_core.builds.samples import SampleTable, read_samples_parquet, write_samples_parquet
from splat_core.builds.table import BuildTable, read_builds_parquet, write_builds_parquet
from splat_core.domain.vocab import Vocab, Vocabularies, WeaponVocab
from splat_core.domain.weapons import weapon_table
from splat_core.model.io import load_model, write_model_files
from splat_core.sae import fingerprint, load_sae, save_sae_files
from splat_core.sparse import CSRArrays, open_csc, open_csr, write_csr
from splat_core.store import catalog, lineage
from splat_core.store.contract import (
    ARTIFACT,
    BUILDS_PARQUET,
    BY_KIND,
    CSC_ZARR,
    CSR_ZARR,
    POOLED_ZARR,
    SAE_COMPARISON_JSON,
    SAE_MATCHING_PARQUET,
    SAMPLES_PARQUET,
    SPECS,
    VOCAB_JSON,
    WEAPON_VOCAB_JSON,
    WEAPONS_PARQUET,
    split_stored,
)
from splat_core.store.homes import HomeLike
from splat_core.store.integrity import Verifier


def mark(directory: Path, kind: str, **extra) -> None:
    info = {"kind": kind, "format": BY_KIND[kind].format, **extra}
    (Path(directory) / ARTIFACT).write_text(json.dumps(info, indent=2) + "\n")


def artifact_kind(directory: Path) -> str:
    file = Path(directory) / ARTIFACT
    if not file.exists():
        raise FileNotFoundError(f"{directory}: no {ARTIFACT}; not an asset directory")
    return json.loads(file.read_text())["kind"]


# --- vocab and builds ----------------------------------------------------------------------


def write_vocab_dir(directory: Path, vocab: Vocab, weapon_vocab: WeaponVocab) -> dict:
    vocab.to_json(directory / VOCAB_JSON)
    weapon_vocab.to_json(directory / WEAPON_VOCAB_JSON)
    known = {w.weapon_id: w for w in weapon_table()}
    rows = [known.get(w) for w in weapon_vocab.weapon_ids]
    columns = {
        "weapon_index": list(range(len(rows))),
        "weapon_id": weapon_vocab.weapon_ids,
        "name": [w.name if w else None for w in rows],
        "class": [w.weapon_class if w else None for w in rows],
        "sub": [w.sub if w else None for w in rows],
        "special": [w.special if w else None for w in rows],
    }
    pq.write_table(pa.table(columns), directory / WEAPONS_PARQUET)
    mark(directory, "vocab")
    return {"n_tokens": len(vocab), "n_weapons": len(weapon_vocab)}


def read_vocab_dir(directory: Path) -> Vocabularies:
    return Vocabularies(
        Vocab.from_json(directory / VOCAB_JSON),
        WeaponVocab.from_json(directory / WEAPON_VOCAB_JSON),
    )


def write_builds_dir(directory: Path, table: BuildTable, source: str) -> dict:
    write_builds_parquet(table, directory / BUILDS_PARQUET)
    table.vocab.to_json(directory / VOCAB_JSON)
    table.weapon_vocab.to_json(directory / WEAPON_VOCAB_JSON)
    mark(directory, "builds")
    meta = {
        "rows": len(table),
        "source": source,
        "nnz_tokens": len(table.token_ids),
        "tokens_per_build": {"min": int(table.lengths.min()), "max": int(table.lengths.max())},
    }
    if table.archetype is not None:
        meta["archetypes"] = {
            n: int((table.archetype == i).sum()) for i, n in enumerate(table.archetype_names)
        }
    return meta


def read_builds_dir(directory: Path) -> BuildTable:
    vocab, weapons = read_vocab_dir(directory)
    return read_builds_parquet(directory / BUILDS_PARQUET, vocab, weapons)


# --- samples and pooled ------------------------------------------------------------------------


def write_samples_dir(directory: Path, samples: SampleTable, builds: BuildTable) -> dict:
    write_samples_parquet(samples, directory / SAMPLES_PARQUET)
    builds.vocab.to_json(directory / VOCAB_JSON)
    builds.weapon_vocab.to_json(directory / WEAPON_VOCAB_JSON)
    mark(directory, "samples", sample_start=samples.sample_start, rows=len(samples))
    return {"rows": len(samples), "sample_start": samples.sample_start,
            "builds": int(len(np.unique(samples.build_id)))}  # fmt: skip


def read_samples_dir(directory: Path) -> SampleTable:
    vocab, weapons = read_vocab_dir(directory)
    stub = BuildTable(np.zeros(0), np.zeros(1), np.zeros(0), vocab, weapons)
    return read_samples_parquet(directory / SAMPLES_PARQUET, stub)


def write_pooled_dir(directory: Path, pooled: np.ndarray, sample_start: int) -> dict:
    rows = max(1, min(len(pooled), 65536))
    z = zarr.create_array(
        store=str(directory / POOLED_ZARR), shape=pooled.shape, dtype="float32",
        chunks=(rows, pooled.shape[1]),
    )  # fmt: skip
    z[:] = pooled
    z.attrs.update({"sample_start": sample_start})
    mark(directory, "pooled", sample_start=sample_start, shape=list(pooled.shape))
    return {"rows": int(pooled.shape[0]), "dim": int(pooled.shape[1]),
            "sample_start": sample_start, "bytes": int(pooled.nbytes),
            "has_nan": bool(np.isnan(pooled).any())}  # fmt: skip


# --- analysis tables -------------------------------------------------------------------------


def write_table_dir(directory: Path, asset: str, table: pa.Table) -> dict:
    """An analysis table as `<asset>.parquet` (after any other files of the asset: the
    metadata counts the directory's bytes)."""
    pq.write_table(table, table_path(directory, asset))
    mark(directory, asset)
    meta = {"rows": table.num_rows, "columns": table.column_names, "bytes": dir_bytes(directory)}
    if "feature_id" in table.column_names and table.num_rows:
        meta["features"] = int(len(np.unique(table.column("feature_id").to_numpy())))
    return meta


def table_path(directory: Path, asset: str) -> Path:
    return Path(directory) / SPECS[asset].table_file


def read_table_dir(directory: Path) -> pa.Table:
    return pq.read_table(table_path(directory, artifact_kind(directory)))


class SAEComparison(NamedTuple):
    """The `sae_comparison` asset (pipeline/analysis_steps.py: sae_comparison_step)."""

    variants: pa.Table
    """One row per SAE variant (default first): arch, width, k, EV, L0, dead fraction, ..."""
    matching: pa.Table
    """Every pair (sae_a before sae_b): one row per feature of sae_a, matched in sae_b."""
    summary: dict
    """sae_comparison.json: the variants, the settings, each pair's counts, summary and
    absorption."""


def read_sae_comparison_dir(directory: Path) -> SAEComparison:
    directory = Path(directory)
    return SAEComparison(
        pq.read_table(table_path(directory, "sae_comparison")),
        pq.read_table(directory / SAE_MATCHING_PARQUET),
        json.loads((directory / SAE_COMPARISON_JSON).read_text()),
    )


# --- checkpoints ---------------------------------------------------------------------------


def write_model_dir(directory: Path, model, params, metrics: dict, source: str) -> dict:
    write_model_files(directory, model, params, metrics)
    mark(directory, "model", source=source)
    n_params = sum(p.numel() for p in model.parameters())
    meta = {"source": source, "params": params.to_dict(), "n_parameters": n_params}
    for key in ("test", "baseline_weapon_frequency", "baseline_weapon_frequency_copy_input"):
        if key in metrics:
            meta[key] = metrics[key]
    return meta


# --- SAE, activations and the feature store ----------------------------------------------------


def write_sae_dir(directory: Path, sae, config, metrics: dict, source: str) -> dict:
    save_sae_files(directory, sae, config, metrics)
    mark(directory, "sae", source=source, fingerprint=fingerprint(sae))
    return {"source": source, "fingerprint": fingerprint(sae), **metrics}


def write_activations_dir(directory: Path, csr: CSRArrays, n_features: int, sample_start: int,
                          attrs: dict) -> dict:  # fmt: skip
    indptr, indices, data = csr
    shape = (len(indptr) - 1, n_features)
    write_csr(directory / CSR_ZARR, indptr, indices, data, shape, sample_start, attrs=attrs)
    mark(directory, "activations", sample_start=sample_start, shape=list(shape))
    n_rows = max(shape[0], 1)
    return {"rows": shape[0], "n_features": n_features, "nnz": int(len(data)),
            "mean_l0": round(len(data) / n_rows, 3), "sample_start": sample_start,
            "bytes": dir_bytes(directory)}  # fmt: skip


# --- opening any artifact ------------------------------------------------------------------


def verified(directory: Path) -> Verifier:
    """The version's verifier, after checking every file read whole when it opens (a
    damaged one raises DamagedError); chunk files are checked as they are read."""
    verifier = Verifier(directory)
    verifier.verify_eager()
    return verifier


def open_artifact(directory: Path):
    """The artifact of a version directory, opened by its kind, as the IO managers hand it to
    assets: vocab -> Vocabularies, builds -> BuildTable, samples -> SampleTable, pooled ->
    zarr.Array, activations -> CSRStore, feature_store -> CSCStore (stores open lazily),
    model and sae -> torch modules in eval mode, an analysis table -> pyarrow.Table
    (sae_comparison -> SAEComparison).
    Every file is checked against the version's checksums (DamagedError if one differs)."""
    directory = Path(directory)
    check = verified(directory).check
    kind = artifact_kind(directory)
    if kind not in BY_KIND:
        raise ValueError(f"{directory}: unknown artifact kind {kind!r}")
    if kind == "sae_comparison":  # three files: the variants, the matching, the summary
        return read_sae_comparison_dir(directory)
    if BY_KIND[kind].group == "analysis":
        return read_table_dir(directory)
    return _OPENERS[kind](directory, check)


_OPENERS = {
    "vocab": lambda d, _: read_vocab_dir(d),
    "builds": lambda d, _: read_builds_dir(d),
    "samples": lambda d, _: read_samples_dir(d),
    "pooled": lambda d, _: zarr.open_array(str(d / POOLED_ZARR), mode="r"),
    "activations": lambda d, check: open_csr(d / CSR_ZARR, check),
    "feature_store": lambda d, check: open_csc(d / CSC_ZARR, check),
    "model": lambda d, _: load_model(d),
    "sae": lambda d, _: load_sae(d),
}


def open_current(home: HomeLike, asset: str):
    """The asset's current version opened (`open_artifact`); for a partitioned asset,
    {partition: artifact} of every materialized partition. `asset` may be a stored name
    (`sae@wide`: contract.stored_name)."""
    if not SPECS[split_stored(asset)[0]].partitioned:
        return open_artifact(catalog.current_path(home, asset))
    keys = sorted(catalog.read_catalog(home).get(asset, {}).get("partitions", {}))
    return {k: open_artifact(catalog.current_path(home, asset, k)) for k in keys}


def open_input(home: HomeLike, asset: str, partition: str | None, cat: dict | None = None):
    """The current version of an asset (partition) a step reads, refused (StaleInputError)
    if it is stale, computed from inputs that changed since: a step never combines
    versions not computed from each other."""
    cat = catalog.read_catalog(home) if cat is None else cat
    if lineage.key_of(asset, partition) in lineage.entries(cat):
        lineage.check_current(lineage.key_of(asset, partition), cat)
    return open_artifact(catalog.current_path(home, asset, partition))


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())

"""Asset directories: how each kind of artifact is written into, and read from, a directory.

Every directory holds `artifact.json` ({"kind": ..., "format": ...}) so that a reader (an IO
manager, the query layer, an outside tool) opens it without knowing who wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zarr

from splat_core.dataset import BuildTable, read_builds_parquet, write_builds_parquet
from splat_core.model.io import load_model, write_model_files
from splat_core.samples import SampleTable, read_samples_parquet, write_samples_parquet
from splat_core.vocab import Vocab, WeaponVocab
from splat_core.weapons import weapon_table

ARTIFACT = "artifact.json"
FORMATS = {
    "vocab": "parquet",
    "builds": "parquet",
    "samples": "parquet",
    "pooled": "zarr",
    "activations": "zarr",
    "feature_store": "zarr",
    "model": "checkpoint",
    "feature_stats": "parquet",
    "feature_histograms": "parquet",
    "token_idf": "parquet",
    "feature_tokens": "parquet",
    "feature_weapons": "parquet",
    "feature_influence": "parquet+zarr",
    "feature_neighbors": "parquet",
    "sae": "checkpoint",
}


def mark(directory: Path, kind: str, **extra) -> None:
    info = {"kind": kind, "format": FORMATS[kind], **extra}
    (Path(directory) / ARTIFACT).write_text(json.dumps(info, indent=2) + "\n")


def artifact_kind(directory: Path) -> str:
    file = Path(directory) / ARTIFACT
    if not file.exists():
        raise FileNotFoundError(f"{directory}: no {ARTIFACT}; not an asset directory")
    return json.loads(file.read_text())["kind"]


# --- vocab and builds ----------------------------------------------------------------------


def write_vocab_dir(directory: Path, vocab: Vocab, weapon_vocab: WeaponVocab) -> dict:
    vocab.to_json(directory / "vocab.json")
    weapon_vocab.to_json(directory / "weapon_vocab.json")
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
    pq.write_table(pa.table(columns), directory / "weapons.parquet")
    mark(directory, "vocab")
    return {"n_tokens": len(vocab), "n_weapons": len(weapon_vocab)}


def read_vocab_dir(directory: Path) -> tuple[Vocab, WeaponVocab]:
    return (
        Vocab.from_json(directory / "vocab.json"),
        WeaponVocab.from_json(directory / "weapon_vocab.json"),
    )


def write_builds_dir(directory: Path, table: BuildTable, source: str) -> dict:
    write_builds_parquet(table, directory / "builds.parquet")
    table.vocab.to_json(directory / "vocab.json")
    table.weapon_vocab.to_json(directory / "weapon_vocab.json")
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
    return read_builds_parquet(directory / "builds.parquet", vocab, weapons)


# --- samples and pooled ------------------------------------------------------------------------


def write_samples_dir(directory: Path, samples: SampleTable, builds: BuildTable) -> dict:
    write_samples_parquet(samples, directory / "samples.parquet")
    builds.vocab.to_json(directory / "vocab.json")
    builds.weapon_vocab.to_json(directory / "weapon_vocab.json")
    mark(directory, "samples", sample_start=samples.sample_start, rows=len(samples))
    return {"rows": len(samples), "sample_start": samples.sample_start,
            "builds": int(len(np.unique(samples.build_id)))}  # fmt: skip


def read_samples_dir(directory: Path) -> SampleTable:
    vocab, weapons = read_vocab_dir(directory)
    stub = BuildTable(np.zeros(0), np.zeros(1), np.zeros(0), vocab, weapons)
    return read_samples_parquet(directory / "samples.parquet", stub)


def write_pooled_dir(directory: Path, pooled: np.ndarray, sample_start: int) -> dict:
    rows = max(1, min(len(pooled), 65536))
    z = zarr.create_array(
        store=str(directory / "pooled.zarr"), shape=pooled.shape, dtype="float32",
        chunks=(rows, pooled.shape[1]),
    )  # fmt: skip
    z[:] = pooled
    z.attrs.update({"sample_start": sample_start})
    mark(directory, "pooled", sample_start=sample_start, shape=list(pooled.shape))
    return {"rows": int(pooled.shape[0]), "dim": int(pooled.shape[1]),
            "sample_start": sample_start, "bytes": int(pooled.nbytes),
            "has_nan": bool(np.isnan(pooled).any())}  # fmt: skip


def read_pooled_dir(directory: Path) -> np.ndarray:
    return zarr.open_array(str(directory / "pooled.zarr"), mode="r")[:]


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


def read_model_dir(directory: Path):
    return load_model(directory)


# --- SAE, activations and the feature store ----------------------------------------------------


def write_sae_dir(directory: Path, sae, config, metrics: dict, source: str) -> dict:
    from splat_core.sae import fingerprint, save_sae_files

    save_sae_files(directory, sae, config, metrics)
    mark(directory, "sae", source=source, fingerprint=fingerprint(sae))
    return {"source": source, "fingerprint": fingerprint(sae), **metrics}


def write_activations_dir(directory: Path, csr: tuple, n_features: int, sample_start: int,
                          attrs: dict) -> dict:  # fmt: skip
    from splat_core.sparse import write_csr

    indptr, indices, data = csr
    shape = (len(indptr) - 1, n_features)
    write_csr(directory / "csr.zarr", indptr, indices, data, shape, sample_start, attrs=attrs)
    mark(directory, "activations", sample_start=sample_start, shape=list(shape))
    n_rows = max(shape[0], 1)
    return {"rows": shape[0], "n_features": n_features, "nnz": int(len(data)),
            "mean_l0": round(len(data) / n_rows, 3), "sample_start": sample_start,
            "bytes": dir_bytes(directory)}  # fmt: skip


def open_zarr_artifact(directory: Path):
    """pooled -> zarr.Array; activations -> CSRStore; feature_store -> CSCStore (lazy)."""
    from splat_core.sparse import open_csc, open_csr

    kind = artifact_kind(directory)
    if kind == "pooled":
        return zarr.open_array(str(directory / "pooled.zarr"), mode="r")
    if kind == "activations":
        return open_csr(directory / "csr.zarr")
    if kind == "feature_store":
        return open_csc(directory / "csc.zarr")
    raise ValueError(f"{directory}: {kind} is not a Zarr artifact")


def load_checkpoint(directory: Path):
    from splat_core.sae import load_sae

    kind = artifact_kind(directory)
    if kind == "model":
        return load_model(directory)
    if kind == "sae":
        return load_sae(directory)
    raise ValueError(f"{directory}: {kind} is not a checkpoint artifact")


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())

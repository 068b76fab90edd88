"""The main job without an orchestrator: vocab -> builds -> base_model under SPLAT_HOME.

Each step writes one asset directory (see catalog.py); the CLI's `materialize` drives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from splat_core.catalog import publish_asset
from splat_core.config import SplatConfig
from splat_core.dataset import BuildTable, write_builds_parquet
from splat_core.model.io import write_model_files
from splat_core.model.train import train_model
from splat_core.refdata import read_reference_dataset
from splat_core.synth import generate_builds
from splat_core.weapons import weapon_table


def load_builds(config: SplatConfig, progress: Callable[[str], None] = print) -> BuildTable:
    """The configured build source: the synthetic generator or validated reference files."""
    if config.data.source == "synthetic":
        return generate_builds(config.synth)
    if config.data.source == "reference":
        table, report = read_reference_dataset(
            config.data.data,
            config.data.vocab,
            config.data.weapon_vocab,
            skip_invalid=config.data.skip_invalid,
        )
        if report.n_skipped:
            progress(f"skipped {report.n_skipped} invalid rows: {report.by_kind}")
        return table
    raise ValueError(f"data.source must be 'synthetic' or 'reference', got {config.data.source!r}")


def write_vocab(table: BuildTable, out: Path) -> dict:
    table.vocab.to_json(out / "vocab.json")
    table.weapon_vocab.to_json(out / "weapon_vocab.json")
    known = {w.weapon_id: w for w in weapon_table()}
    rows = [known.get(w) for w in table.weapon_vocab.weapon_ids]
    pq.write_table(
        pa.table(
            {
                "weapon_index": list(range(len(rows))),
                "weapon_id": table.weapon_vocab.weapon_ids,
                "name": [w.name if w else None for w in rows],
                "class": [w.weapon_class if w else None for w in rows],
                "sub": [w.sub if w else None for w in rows],
                "special": [w.special if w else None for w in rows],
            }
        ),
        out / "weapons.parquet",
    )
    return {"n_tokens": len(table.vocab), "n_weapons": len(table.weapon_vocab)}


def write_builds(table: BuildTable, source: str, out: Path) -> dict:
    write_builds_parquet(table, out / "builds.parquet")
    meta = {
        "rows": len(table),
        "source": source,
        "tokens_per_build": {"min": int(table.lengths.min()), "max": int(table.lengths.max())},
    }
    if table.archetype is not None:
        counts = {n: int((table.archetype == i).sum()) for i, n in enumerate(table.archetype_names)}
        meta["archetypes"] = counts
    return meta


def run_main(
    config: SplatConfig, home: Path, progress: Callable[[str], None] = print
) -> dict[str, dict]:
    """Materialize vocab, builds and base_model; returns each asset's metadata."""
    out: dict[str, dict] = {}
    start = time.perf_counter()
    progress(f"[builds] loading ({config.data.source})")
    table = load_builds(config, progress)
    out["vocab"] = publish_asset(home, "vocab", lambda d: write_vocab(table, d))
    out["builds"] = publish_asset(
        home, "builds", lambda d: write_builds(table, config.data.source, d)
    )
    progress(f"[builds] {len(table)} builds ({time.perf_counter() - start:.1f}s)")
    progress("[base_model] training")
    result = train_model(table, config.train, progress=lambda m: progress(f"[base_model] {m}"))

    def write_model(d: Path) -> dict:
        write_model_files(d, result.model, result.params, result.metrics)
        return {
            "params": result.params.to_dict(),
            "test": result.metrics["test"],
            "baseline_weapon_frequency": result.metrics["baseline_weapon_frequency"],
            "baseline_weapon_frequency_copy_input": result.metrics[
                "baseline_weapon_frequency_copy_input"
            ],
            "train_seconds": result.metrics["train_seconds"],
        }

    out["base_model"] = publish_asset(home, "base_model", write_model)
    progress(f"[done] {time.perf_counter() - start:.1f}s")
    return out

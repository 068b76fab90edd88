"""The analysis group: one function per asset, over the feature store and sample metadata.

Each writes `<asset>.parquet` (long form, first column `feature_id`; token_idf is per token)
into the staging directory and returns metadata; feature_influence adds `influence.zarr`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from splat_core import analysis, artifacts
from splat_core.checks import CheckOutcome
from splat_core.config import SplatConfig
from splat_core.samples import SampleTable


def sample_meta(samples: Mapping[str, SampleTable]) -> analysis.SampleMeta:
    return analysis.SampleMeta.from_tables([samples[k] for k in sorted(samples)])


def _write(out: Path, kind: str, table: pa.Table) -> dict:
    pq.write_table(table, out / f"{kind}.parquet")
    artifacts.mark(out, kind)
    meta = {
        "rows": table.num_rows,
        "columns": table.column_names,
        "bytes": artifacts.dir_bytes(out),
    }
    if "feature_id" in table.column_names and table.num_rows:
        meta["features"] = int(len(np.unique(table.column("feature_id").to_numpy())))
    return meta


def feature_stats_step(out: Path, csc, config: SplatConfig) -> dict:
    return _write(out, "feature_stats", analysis.feature_stats(csc, csc.n_samples))


def feature_histograms_step(out: Path, csc, config: SplatConfig) -> dict:
    table = analysis.feature_histograms(csc, n_bins=config.analysis.histogram_bins)
    return _write(out, "feature_histograms", table)


def token_idf_step(out: Path, samples, config: SplatConfig) -> dict:
    return _write(out, "token_idf", analysis.token_idf(sample_meta(samples)))


def feature_tokens_step(out: Path, csc, samples, idf: pa.Table, config: SplatConfig) -> dict:
    a = config.analysis
    table = analysis.feature_tokens(
        csc, sample_meta(samples), idf, top_n=a.top_n, k_enhancers=a.k_tokens,
        k_suppressors=a.k_suppressors,
    )  # fmt: skip
    return _write(out, "feature_tokens", table)


def feature_weapons_step(out: Path, csc, samples, config: SplatConfig) -> dict:
    a = config.analysis
    table = analysis.feature_weapons(csc, sample_meta(samples), top_n=a.top_n, k=a.k_weapons)
    return _write(out, "feature_weapons", table)


def feature_influence_step(out: Path, model, sae, vocab, config: SplatConfig) -> dict:
    weight = model.output_layer.weight.detach().cpu().numpy()
    directions = sae.decoder_directions().detach().cpu().numpy()
    matrix, table = analysis.feature_influence(
        weight, directions, vocab, k=config.analysis.k_influence
    )
    analysis.write_influence_zarr(matrix, out / "influence.zarr")
    meta = _write(out, "feature_influence", table)
    return {**meta, "shape": list(matrix.shape), "finite": bool(np.isfinite(matrix).all())}


def feature_neighbors_step(out: Path, csc, sae, config: SplatConfig) -> dict:
    directions = sae.decoder_directions().detach().cpu().numpy()
    table = analysis.feature_neighbors(
        csc, directions, csc.n_samples, k=config.analysis.k_neighbors
    )
    return _write(out, "feature_neighbors", table)


def check_table(table: pa.Table, n_features: int) -> CheckOutcome:
    """Feature ids in range and sorted, no NaN in float columns."""
    problems = []
    if "feature_id" in table.column_names and table.num_rows:
        ids = table.column("feature_id").to_numpy()
        if ids.min() < 0 or ids.max() >= n_features:
            problems.append("feature_id out of range")
        if (np.diff(ids) < 0).any():
            problems.append("rows not sorted by feature_id")
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            problems.append(f"NaN in {name}")
    return CheckOutcome.from_problems(problems, rows=table.num_rows)


def check_histograms(table: pa.Table, csc) -> CheckOutcome:
    """Every feature's bin counts sum to its number of activations."""
    outcome = check_table(table, csc.n_features)
    ids = table.column("feature_id").to_numpy()
    counts = table.column("count").to_numpy()
    totals = np.bincount(ids, weights=counts, minlength=csc.n_features).astype(np.int64)
    bad = np.flatnonzero(totals != np.asarray(csc.nnz_per_feature()))
    if len(bad):
        outcome = CheckOutcome.from_problems(
            outcome.metadata["problems"]
            + [f"{len(bad)} features whose counts != nnz, e.g. {bad[:5].tolist()}"],
            rows=table.num_rows,
        )
    return outcome

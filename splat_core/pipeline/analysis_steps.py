"""The analysis group: one step per asset, over the feature store and sample metadata.

Each step takes the asset's inputs by name (as the IO managers load them: the contract's
`deps`), writes `<asset>.parquet` (long form, first column `feature_id`; token_idf is per
token) into the staging directory, and returns its metadata and the outcome of the table's
check; feature_influence adds `influence.zarr`. `ANALYSIS_STEPS` maps each analysis asset of
the contract to its step: the Dagster assets and the seed-scale benchmark are both built
from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from splat_core import analysis
from splat_core.analysis.feature_map import feature_map
from splat_core.builds.sample_meta import SampleMeta
from splat_core.builds.samples import SampleTable
from splat_core.explain.inputs import InputTable
from splat_core.explain.table import feature_explanations
from splat_core.pipeline.checks import CheckOutcome, StepResult
from splat_core.pipeline.config import SplatConfig
from splat_core.store import artifacts
from splat_core.store.contract import INFLUENCE_ZARR

Inputs = Mapping[str, Any]
Progress = Callable[[str], None]
AnalysisStep = Callable[..., StepResult]  # (out, inputs, config, progress) -> StepResult


def _quiet(_message: str) -> None:
    pass


def sample_meta(samples: Mapping[str, SampleTable]) -> SampleMeta:
    return SampleMeta.from_tables([samples[k] for k in sorted(samples)])


def _written(out: Path, asset: str, table: pa.Table, n_features: int) -> StepResult:
    return StepResult(artifacts.write_table_dir(out, asset, table), check_table(table, n_features))


def feature_stats_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    csc = inputs["feature_store"]
    table = analysis.feature_stats(csc, csc.n_samples)
    return _written(out, "feature_stats", table, csc.n_features)


def feature_histograms_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    csc = inputs["feature_store"]
    table = analysis.feature_histograms(csc, n_bins=config.analysis.histogram_bins)
    meta = artifacts.write_table_dir(out, "feature_histograms", table)
    return StepResult(meta, check_histograms(table, csc))


def token_idf_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    table = analysis.token_idf(sample_meta(inputs["samples"]))
    return _written(out, "token_idf", table, 0)


def feature_tokens_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    a, csc = config.analysis, inputs["feature_store"]
    table = analysis.feature_tokens(
        csc, sample_meta(inputs["samples"]), inputs["token_idf"], top_n=a.top_n,
        k_enhancers=a.k_tokens, k_suppressors=a.k_suppressors,
    )  # fmt: skip
    return _written(out, "feature_tokens", table, csc.n_features)


def feature_weapons_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    a, csc = config.analysis, inputs["feature_store"]
    table = analysis.feature_weapons(csc, sample_meta(inputs["samples"]), top_n=a.top_n,
                                     k=a.k_weapons)  # fmt: skip
    return _written(out, "feature_weapons", table, csc.n_features)


def feature_influence_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    sae = inputs["sae"]
    weight = inputs["base_model"].output_layer.weight.detach().cpu().numpy()
    directions = sae.decoder_directions().detach().cpu().numpy()
    matrix, table = analysis.feature_influence(
        weight, directions, inputs["vocab"].vocab, k=config.analysis.k_influence
    )
    analysis.write_influence_zarr(matrix, out / INFLUENCE_ZARR)
    meta = artifacts.write_table_dir(out, "feature_influence", table)
    meta = {**meta, "shape": list(matrix.shape), "finite": bool(np.isfinite(matrix).all())}
    return StepResult(meta, check_table(table, sae.n_features))


def feature_neighbors_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    csc = inputs["feature_store"]
    directions = inputs["sae"].decoder_directions().detach().cpu().numpy()
    table = analysis.feature_neighbors(
        csc, directions, csc.n_samples, k=config.analysis.k_neighbors
    )
    return _written(out, "feature_neighbors", table, csc.n_features)


def feature_correlations_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    csc = inputs["feature_store"]
    table = analysis.feature_correlations(csc, csc.n_samples, k=config.analysis.k_correlations)
    return _written(out, "feature_correlations", table, csc.n_features)


def feature_map_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    sae, m = inputs["sae"], config.feature_map
    directions = sae.decoder_directions().detach().cpu().numpy()
    table, meta = feature_map(directions, m.method, m.seed, m.n_neighbors, m.min_dist)
    progress(f"feature_map: {meta['method']} of {meta['n_mapped']} directions")
    written = artifacts.write_table_dir(out, "feature_map", table)
    return StepResult({**written, "map": meta}, check_table(table, sae.n_features))


def feature_explanations_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    csc = inputs["feature_store"]
    table = InputTable.from_meta(sample_meta(inputs["samples"]))
    rules, meta = feature_explanations(csc, table, config.explain, progress)
    written = artifacts.write_table_dir(out, "feature_explanations", rules)
    return StepResult({**written, **meta}, check_table(rules, csc.n_features))


ANALYSIS_STEPS: dict[str, AnalysisStep] = {
    "feature_stats": feature_stats_step,
    "feature_histograms": feature_histograms_step,
    "token_idf": token_idf_step,
    "feature_tokens": feature_tokens_step,
    "feature_weapons": feature_weapons_step,
    "feature_influence": feature_influence_step,
    "feature_neighbors": feature_neighbors_step,
    "feature_explanations": feature_explanations_step,
    "feature_correlations": feature_correlations_step,
    "feature_map": feature_map_step,
}  # one per analysis asset of the contract (tested)


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

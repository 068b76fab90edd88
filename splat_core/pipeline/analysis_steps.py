"""The analysis group: one step per asset, over the feature store and sample metadata.

Each step takes the asset's inputs by name (as the IO managers load them: the contract's
`deps`), writes `<asset>.parquet` (long form, first column `feature_id`; token_idf is per
token) into the staging directory, and returns its metadata and the outcome of the table's
check; feature_influence adds `influence.zarr`; sae_comparison reads every SAE variant
and writes three files (sae_comparison_step). `ANALYSIS_STEPS` maps each analysis asset of
the contract to its step: the Dagster assets and the seed-scale benchmark are both built
from it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from splat_core import analysis
from splat_core.analysis.feature_map import feature_map
from splat_core.builds.sample_meta import SampleMeta
from splat_core.builds.samples import SampleTable
from splat_core.explain.inputs import InputTable
from splat_core.explain.table import feature_explanations
from splat_core.pipeline.checks import CheckOutcome, StepResult
from splat_core.pipeline.config import SplatConfig
from splat_core.pipeline.sae_variants import match_sides, planted_summary, pooled_inputs, sae_side
from splat_core.pipeline.steps import quality_metrics
from splat_core.sae.matching import A_CATEGORIES, MatchThresholds
from splat_core.sae.metrics import reconstruction_stats
from splat_core.store import artifacts
from splat_core.store.contract import (
    DEFAULT_SAE,
    INFLUENCE_ZARR,
    SAE_COMPARISON_JSON,
    SAE_MATCHING_PARQUET,
)

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


def sae_comparison_step(
    out: Path, inputs: Inputs, config: SplatConfig, progress: Progress = _quiet
) -> StepResult:
    """Every SAE variant of the home side by side (`sae_comparison.parquet`: one row per
    variant, default first: arch, width, k, explained variance, mean L0, dead fraction over
    every pooled vector, and its absorption), every pair (pair_order) matched feature by
    feature (`sae_matching.parquet`: one row per feature of a, sae/matching.py's rows_a) and
    each pair's counts, summary and absorption (`sae_comparison.json`). `inputs["sae"]` is
    {variant: module} (one module: the default variant). With the base model and builds
    (the asset's inputs), each variant's loss recovered on held-out builds and planted-
    archetype AUROC (min, median) too, measured as the `sae` asset measures its SAE."""
    saes = variants_in_order(inputs["sae"])
    pooled = pooled_inputs(inputs["pooled"], inputs["samples"])
    sample_build = np.concatenate(
        [inputs["samples"][k].build_id for k in sorted(inputs["samples"])]
    )
    rows, sides = [], {}
    for name, sae in saes.items():
        progress(f"sae_comparison: measuring {name}")
        sides[name] = sae_side(sae, pooled)
        row = variant_row(name, sae, pooled.x, sides[name].absorption)
        if "base_model" in inputs:  # as the `sae` asset measures it: held-out builds
            quality = quality_metrics(sae, pooled.x, sample_build, inputs["builds"],
                                      inputs["base_model"], config)  # fmt: skip
            row["loss_recovered"] = float(quality["loss_recovered"])
            row |= planted_summary(sae, pooled.x, sample_build, inputs["builds"], config)
        rows.append(row)
    thresholds = MatchThresholds()
    names = list(saes)
    pairs, tables = [], []
    for a, b in pair_order({n: saes[n].n_features for n in saes}):
        progress(f"sae_comparison: matching {a} with {b}")
        m = match_sides(sides[a], sides[b], **thresholds._asdict())
        tables.append(matching_table(a, b, m.rows_a))
        pairs.append({
            "sae_a": a, "sae_b": b,
            "n_features": [saes[a].n_features, saes[b].n_features],
            "counts": m.counts, "summary": m.summary,
            "absorption": [sides[a].absorption, sides[b].absorption],
        })  # fmt: skip
    matching = pa.concat_tables(tables) if tables else matching_table("", "", []).slice(0, 0)
    summary = {
        "variants": list(saes),
        "settings": {"thresholds": thresholds._asdict(), "n_samples": int(len(pooled.x)),
                     "categories": list(A_CATEGORIES),
                     "absorption": "analysis/absorption.py defaults"},
        "pairs": pairs,
    }  # fmt: skip
    pq.write_table(matching, out / SAE_MATCHING_PARQUET)
    (out / SAE_COMPARISON_JSON).write_text(json.dumps(summary, indent=1, default=_json) + "\n")
    variants = pa.Table.from_pylist(rows, schema=VARIANT_SCHEMA)
    meta = artifacts.write_table_dir(out, "sae_comparison", variants)
    meta = {**meta, "variants": names, "pairs": len(pairs), "matching_rows": matching.num_rows}
    expected = {n: s.n_features for n, s in saes.items()}
    return StepResult(meta, check_sae_comparison(variants, matching, expected))


def variants_in_order(sae) -> dict:
    """{variant: module}, the default variant first, the others in the order given; a single
    module (the seed-scale bench's `open_current(home, "sae")`) is the default variant."""
    saes = dict(sae) if isinstance(sae, Mapping) else {DEFAULT_SAE: sae}
    if not saes:
        raise ValueError("sae_comparison needs at least one SAE")
    first = {DEFAULT_SAE: saes.pop(DEFAULT_SAE)} if DEFAULT_SAE in saes else {}
    return {**first, **saes}


VARIANT_SCHEMA = pa.schema([
    ("sae", pa.string()), ("arch", pa.string()), ("n_features", pa.int64()), ("k", pa.int64()),
    ("explained_variance", pa.float64()), ("mse", pa.float64()), ("mean_l0", pa.float64()),
    ("dead_fraction", pa.float64()), ("n_dead", pa.int64()),
    ("mean_absorption_rate", pa.float64()), ("mean_absorption_rate_se", pa.float64()),
    ("n_absorption_families", pa.int64()),
    # with the base model (the asset's inputs): as the `sae` asset measures them
    ("loss_recovered", pa.float64()), ("auroc_min", pa.float64()), ("auroc_median", pa.float64()),
])  # fmt: skip
VARIANT_METRICS = ("explained_variance", "mean_l0", "dead_fraction")  # finite, always


def variant_row(name: str, sae, x: np.ndarray, absorption: dict) -> dict:
    """A variant's quality over every pooled vector (sae/metrics.py) and its absorption."""
    stats = reconstruction_stats(sae, x)
    return {
        "sae": name, "arch": sae.arch, "n_features": int(sae.n_features),
        "k": sae.arch_fields().get("k"),
        **{k: stats[k] for k in ("explained_variance", "mse", "mean_l0", "dead_fraction",
                                 "n_dead")},
        "mean_absorption_rate": _finite_or_none(absorption["mean_absorption_rate"]),
        "mean_absorption_rate_se": _finite_or_none(absorption["mean_absorption_rate_se"]),
        "n_absorption_families": int(absorption["n_supported"]),
    }  # fmt: skip


MATCHING_SCHEMA = pa.schema([
    ("sae_a", pa.string()), ("sae_b", pa.string()), ("feature_a", pa.int64()),
    ("category", pa.string()), ("n_fire", pa.int64()), ("best_b", pa.int64()),
    ("best_cosine", pa.float64()), ("best_correlation", pa.float64()),
    ("hungarian_b", pa.int64()), ("mutual_b", pa.int64()),
    ("children", pa.list_(pa.int64())), ("child_cosine", pa.list_(pa.float64())),
    ("child_correlation", pa.list_(pa.float64())), ("child_share", pa.list_(pa.float64())),
    ("child_containment", pa.list_(pa.float64())), ("coverage", pa.float64()),
    ("overlap", pa.float64()), ("absorbers", pa.list_(pa.int64())),
    ("absorber_parent", pa.list_(pa.int64())), ("absorber_cosine", pa.list_(pa.float64())),
    ("absorber_samples", pa.list_(pa.int64())), ("absorbed_fraction", pa.float64()),
])  # fmt: skip


def matching_table(sae_a: str, sae_b: str, rows_a: list[dict]) -> pa.Table:
    """match_features' rows_a as a table: `a_id` becomes `feature_a`, the pair is named."""
    rows = [{"sae_a": sae_a, "sae_b": sae_b, "feature_a": r["a_id"],
             **{k: v for k, v in r.items() if k != "a_id"}} for r in rows_a]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=MATCHING_SCHEMA)


def _finite_or_none(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _json(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON: {type(v).__name__}")


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
    "sae_comparison": sae_comparison_step,
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


def pair_order(width: Mapping[str, int]) -> list[tuple[str, str]]:
    """Every pair of variants ({variant: n_features}), the narrower first (ties: in the
    order given): split and absorbed describe a feature of the smaller dictionary against
    the larger one."""
    names = sorted(width, key=lambda n: width[n])  # stable: ties keep their order
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def check_sae_comparison(
    variants: pa.Table, matching: pa.Table, expected: Mapping[str, int] | None = None
) -> CheckOutcome:
    """One row per variant (those `expected` names, {variant: n_features}, in its order),
    finite EV, L0 and dead fraction; every pair (pair_order) matched with one row per feature
    of a, feature_a < a's width, best_b, children and absorbers < b's width (best_b -1:
    none)."""
    problems = []
    names = variants.column("sae").to_pylist()
    width = dict(zip(names, variants.column("n_features").to_pylist(), strict=True))
    if len(set(names)) != len(names):
        problems.append(f"variants repeat: {names}")
    if expected is not None and (names != list(expected) or width != dict(expected)):
        problems.append(f"variants {width} != the SAEs given {dict(expected)}")
    for name in VARIANT_METRICS:
        values = np.asarray(variants.column(name).to_pylist(), dtype=float)
        if len(values) and not np.isfinite(values).all():
            problems.append(f"{name} not finite")
    want = pair_order(width)
    a_col, b_col = matching.column("sae_a").to_pylist(), matching.column("sae_b").to_pylist()
    got = list(dict.fromkeys(zip(a_col, b_col, strict=True)))
    if got != want:
        problems.append(f"pairs {got} != {want}")
    feature_a = matching.column("feature_a").to_numpy()
    best_b = matching.column("best_b").to_numpy()
    children = matching.column("children").to_pylist()
    absorbers = matching.column("absorbers").to_pylist()
    for a, b in got:
        rows = np.flatnonzero((np.asarray(a_col, object) == a) & (np.asarray(b_col, object) == b))
        n_a, n_b = width.get(a, 0), width.get(b, 0)
        ids = feature_a[rows]
        if not np.array_equal(np.sort(ids), np.arange(n_a)):
            problems.append(f"{a}-{b}: feature_a is not one row per feature of {a} ({n_a})")
        if len(ids) and (ids.min() < 0 or ids.max() >= n_a):
            problems.append(f"{a}-{b}: feature_a outside [0, {n_a})")
        bb = best_b[rows]
        if len(bb) and (bb.min() < -1 or bb.max() >= n_b):
            problems.append(f"{a}-{b}: best_b outside [-1, {n_b})")
        ids_b = [j for r in rows for j in (*children[r], *absorbers[r])]
        if ids_b and (min(ids_b) < 0 or max(ids_b) >= n_b):
            problems.append(f"{a}-{b}: a child or absorber outside [0, {n_b})")
    bad = set(matching.column("category").to_pylist()) - set(A_CATEGORIES)
    if bad:
        problems.append(f"unknown categories {sorted(bad)}")
    for name in matching.column_names:
        col = matching.column(name)
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            problems.append(f"NaN in {name}")
    return CheckOutcome.from_problems(problems, variants=len(names), pairs=len(got),
                                      rows=matching.num_rows)  # fmt: skip

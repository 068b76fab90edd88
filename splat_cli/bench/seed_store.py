"""A synthetic, seed-scale materialized SPLAT_HOME, written through the real write path.

Why: the query layer and the feature store have to be measured at the reference's scale
(1M samples x 24,576 features, ~64 active per sample), which no CPU box trains to in
reasonable time. So the graph's own steps and writers produce every asset (vocab, builds,
samples, base_model, sae, activations, feature_store and the analysis group), published
through `publishing.publish_asset` exactly as the IO managers do; only two things are not
computed the Dagster way, and their metadata says so (`"synthesized": true`):
- base_model and sae are untrained (seeded random initialisation);
- activations are drawn directly instead of running model + SAE on every sample.
The `pooled` asset is not written (nothing downstream of the activations reads it); the
lineage of `sae` and `activations` names the inputs they were really made from.

Activations per sample: `active_per_sample` distinct features drawn by successive sampling
(draw with replacement, keep first occurrences) from a Zipf law p ∝ 1/(rank+offset)^exponent
over a seeded permutation of the non-big features, plus each `big_features` id on a seeded
random set of exactly the asked number of samples. The default offset (200) keeps every Zipf
feature below ~9% of samples, so the planted big features are the largest ones. Values are
positive float32: a per-feature lognormal scale times a per-entry lognormal.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from splat_cli.bench.activation_plan import ActivationPlan
from splat_cli.bench.memory import StepTimer
from splat_core.model.set_completion import ModelParams, SetCompletionModel
from splat_core.pipeline import steps
from splat_core.pipeline.analysis_steps import ANALYSIS_STEPS
from splat_core.pipeline.config import SplatConfig, load_config
from splat_core.sae import SAEConfig, build_sae, fingerprint
from splat_core.sparse import CSRWriter
from splat_core.store import artifacts, catalog, contract, publishing
from splat_core.store.contract import ANALYSIS_ASSETS, CSR_ZARR

Progress = Callable[[str], None]
SLOW_SECONDS = 180.0  # an analysis step slower than this is reported in `slow_steps`
# ... except where its issue set another limit (issue 17: every feature explained in 10 min)
SLOW_LIMITS = {**dict.fromkeys(ANALYSIS_ASSETS, SLOW_SECONDS), "feature_explanations": 600.0}
# `--small`: 20,000 x 512 with two planted features, for a quick look (and the tests)
SMALL = {"n_samples": 20_000, "n_features": 512, "n_shards": 2, "hidden": 32,
         "big_features": ((0, 10_000), (1, 2_000))}  # fmt: skip


def write_seed_store(
    home: str | Path,
    n_samples: int = 1_000_000,
    n_features: int = 24_576,
    n_shards: int = 8,
    active_per_sample: int = 64,
    big_features: Sequence[tuple[int, int]] = ((0, 500_000), (1, 100_000)),
    seed: int = 0,
    hidden: int = 512,
    analysis: bool = True,
    zipf_offset: float = 200.0,
    zipf_exponent: float = 1.1,
    block_rows: int = 65_536,
    progress: Progress = print,
) -> dict:
    """Materialize every asset the query layer reads under `home`; returns the figures
    (sizes, nnz of the big features, seconds and RSS per asset, transpose stats, CSC bytes)."""
    home = Path(home)
    with publishing.writing(home):  # one writer, as `splat materialize`
        return _write_seed_store(home, n_samples, n_features, n_shards, active_per_sample,
                                 big_features, seed, hidden, analysis, zipf_offset,
                                 zipf_exponent, block_rows, progress)  # fmt: skip


def _write_seed_store(home, n_samples, n_features, n_shards, active_per_sample, big_features,
                      seed, hidden, analysis, zipf_offset, zipf_exponent, block_rows,
                      progress) -> dict:  # fmt: skip
    t0 = time.perf_counter()
    n_builds, instances, include_full = sample_plan(n_samples)
    config = seed_config(n_builds, instances, include_full, n_shards, hidden, seed)
    timer = StepTimer(progress, limits=SLOW_LIMITS)
    timer.run("vocab", lambda: _publish(home, "vocab", lambda o: steps.vocab_step(o, config)))
    timer.run("builds", lambda: _publish(home, "builds", lambda o: steps.builds_step(o, config)))
    builds = artifacts.read_builds_dir(catalog.current_path(home, "builds"))
    timer.run("samples", lambda: _write_samples(home, builds, config))
    model = lambda o: _write_model(o, builds, config)  # noqa: E731
    timer.run("base_model", lambda: _publish(home, "base_model", model))
    sae = _untrained_sae(hidden, n_features, active_per_sample, seed)
    # synthesized: the SAE is not trained on pooled vectors (none are written), and the
    # activations are drawn, not encoded; their lineage says so
    write_sae = lambda o: _write_sae(o, sae)  # noqa: E731
    timer.run("sae", lambda: _publish(home, "sae", write_sae, inputs=["base_model"]))
    plan = ActivationPlan(n_samples, n_features, active_per_sample, big_features, seed,
                          zipf_offset, zipf_exponent)  # fmt: skip
    timer.run("activations", lambda: _write_activations(home, plan, config, sae, block_rows))
    store = timer.run("feature_store", lambda: _write_feature_store(home, sae, config, progress))
    if analysis:
        run_analysis(home, config, timer)
    return _report(home, n_samples, n_features, big_features, store, timer, t0)


def sample_plan(n_samples: int) -> tuple[int, int, bool]:
    """(n_builds, instances, include_full) giving exactly n_samples samples: two per build
    (one partial + the full build) when n_samples is even, else one partial per build."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    return (n_samples // 2, 1, True) if n_samples % 2 == 0 else (n_samples, 1, False)


def seed_config(
    n_builds: int, instances: int, include_full: bool, n_shards: int, hidden: int, seed: int
) -> SplatConfig:
    """The `seed` profile (model shape, 24,576-feature SAE) resized to this store."""
    base = load_config("seed")
    heads = math.gcd(hidden, base.train.num_heads)
    return replace(
        base,
        synth=replace(base.synth, n_builds=n_builds, seed=seed),
        train=replace(base.train, hidden_dim=hidden, num_heads=heads, seed=seed),
        samples=replace(
            base.samples,
            n_shards=n_shards,
            instances=instances,
            include_full=include_full,
            seed=seed,
        ),  # fmt: skip
    )


# --- publishing, timing and memory ---------------------------------------------------------


def _publish(home: Path, asset: str, write: Callable[[Path], dict], partition=None,
             inputs: list[str] | None = None) -> dict:  # fmt: skip
    return publishing.publish_asset(home, asset, write, partition, inputs=inputs)


# --- data, model and SAE -------------------------------------------------------------------


def _write_samples(home: Path, builds, config: SplatConfig) -> list[dict]:
    metas = []
    for shard in range(config.samples.n_shards):

        def write(out: Path, shard=shard) -> dict:
            meta, outcome = steps.samples_step(out, builds, shard, config)
            if not outcome.passed:
                raise RuntimeError(f"samples[{shard}] failed its check: {outcome.metadata}")
            return meta

        metas.append(_publish(home, "samples", write, partition=f"{shard:03d}"))
    return metas


def _write_model(out: Path, builds, config: SplatConfig) -> dict:
    """An untrained SetCompletionModel of the seed profile's shape (seeded init)."""
    t = config.train
    params = ModelParams(
        vocab_size=len(builds.vocab), weapon_vocab_size=len(builds.weapon_vocab),
        embedding_dim=t.embedding_dim, hidden_dim=t.hidden_dim, output_dim=len(builds.vocab),
        num_layers=t.num_layers, num_heads=t.num_heads,
        num_inducing_points=t.num_inducing_points, use_layer_norm=t.use_layer_norm,
        dropout=t.dropout, pad_token_id=builds.vocab.pad_id,
    )  # fmt: skip
    torch.manual_seed(t.seed)
    model = SetCompletionModel.from_params(params).eval()
    metrics = {"synthetic": True, "untrained": True}
    meta = artifacts.write_model_dir(out, model, params, metrics, "synthetic")
    return {**meta, "synthesized": True}


def _untrained_sae(hidden: int, n_features: int, k: int, seed: int):
    config = SAEConfig(arch="topk", input_dim=hidden, n_features=n_features,
                       k=min(k, n_features), seed=seed)  # fmt: skip
    return build_sae(config, torch.Generator().manual_seed(seed)).eval()


def _write_sae(out: Path, sae) -> dict:
    config = SAEConfig(arch="topk", input_dim=sae.input_dim, n_features=sae.n_features, k=sae.k)
    metrics = {"synthetic": True, "untrained": True}
    return {**artifacts.write_sae_dir(out, sae, config, metrics, "synthetic"), "synthesized": True}


# --- activations -------------------------------------------------------------------------


def shard_bounds(config: SplatConfig, n_builds: int) -> list[tuple[int, int]]:
    """Sample ranges of the samples partitions (same build split as `shard_builds`)."""
    s = config.samples
    per = s.instances + int(s.include_full)
    b = np.linspace(0, n_builds, s.n_shards + 1).round().astype(np.int64) * per
    return [(int(b[i]), int(b[i + 1])) for i in range(s.n_shards)]


def _write_activations(home: Path, plan: ActivationPlan, config, sae, block_rows: int):
    attrs = {"sae_fingerprint": fingerprint(sae), "synthesized": True}
    bounds = shard_bounds(config, config.synth.n_builds)
    metas = []
    for shard, (start, stop) in enumerate(bounds):

        def write(out: Path, shard=shard, start=start, stop=stop) -> dict:
            rng = np.random.default_rng([plan.seed, 1, shard])
            return _write_shard(out, plan, rng, start, stop, block_rows, attrs)

        metas.append(_publish(home, "activations", write, f"{shard:03d}", inputs=["sae"]))
    return metas


def _write_shard(out: Path, plan, rng, start: int, stop: int, block_rows: int, attrs) -> dict:
    """One CSR shard streamed block by block (memory: one block), marked like
    `artifacts.write_activations_dir` marks it."""
    with CSRWriter(out / CSR_ZARR, plan.n_features, start, attrs=attrs) as writer:
        for a in range(start, stop, block_rows):
            writer.append(*plan.rows(rng, a, min(stop, a + block_rows)))
    shape = (writer.n_rows, plan.n_features)
    artifacts.mark(out, "activations", sample_start=start, shape=list(shape))
    return {"rows": shape[0], "n_features": plan.n_features, "nnz": writer.nnz,
            "mean_l0": round(writer.nnz / max(shape[0], 1), 3), "sample_start": start,
            "bytes": artifacts.dir_bytes(out), "synthesized": True}  # fmt: skip


def _write_feature_store(home: Path, sae, config: SplatConfig, progress: Progress) -> dict:
    shards = artifacts.open_current(home, "activations")

    def write(out: Path) -> dict:
        meta = steps.feature_store_step(out, shards, sae, config, progress)
        return {**meta, "synthesized": True}

    return _publish(home, "feature_store", write)


# --- the analysis group --------------------------------------------------------------------


# The seed store has one SAE and no pooled vectors: nothing for a comparison of SAEs to read
SEED_ANALYSIS = tuple(a for a in ANALYSIS_ASSETS if not contract.spec(a).across_saes)


def run_analysis(home: Path, config: SplatConfig, timer: StepTimer,
                 assets: Sequence[str] = SEED_ANALYSIS) -> None:  # fmt: skip
    """The analysis steps of the contract (all a seed store can feed, or `assets`), on
    inputs opened as the IO managers open them."""
    for asset in assets:
        step = ANALYSIS_STEPS[asset]

        def write(out: Path, asset=asset, step=step) -> dict:
            inputs = {dep: artifacts.open_current(home, dep) for dep in contract.spec(asset).deps}
            return step(out, inputs, config, timer.progress).metadata

        timer.run(asset, lambda a=asset, w=write: _publish(home, a, w))


# --- the report ----------------------------------------------------------------------------


def _report(home, n_samples, n_features, big_features, store, timer: StepTimer, t0) -> dict:
    csc = artifacts.open_artifact(catalog.current_path(home, "feature_store"))
    counts = csc.nnz_per_feature()
    big = {int(f) for f, _ in big_features}
    rest = np.delete(counts, sorted(big)) if big else counts
    root = csc.path
    idx, data = artifacts.dir_bytes(root / "indices"), artifacts.dir_bytes(root / "data")
    keys = ("seconds", "nnz_per_s", "peak_bucket_bytes", "n_buckets", "n_large_features",
            "bytes_spilled")  # fmt: skip
    transpose = {k: store[k] for k in keys}
    transpose["rss_peak_bytes"] = timer.figures["feature_store"]["rss_peak_bytes"]
    slow = [a for a in SEED_ANALYSIS
            if timer.figures.get(a, {}).get("seconds", 0) > SLOW_LIMITS[a]]  # fmt: skip
    return {
        "home": str(home),
        "n_samples": int(csc.n_samples),
        "n_features": int(csc.n_features),
        "nnz": int(csc.nnz),
        "mean_nnz_per_sample": round(csc.nnz / max(csc.n_samples, 1), 3),
        "big_features": {int(f): int(counts[f]) for f, _ in big_features},
        "zipf_features_nnz": {
            "max": int(rest.max()),
            "median": int(np.median(rest)),
            "min": int(rest.min()),
        }
        if len(rest)
        else {},  # fmt: skip
        "assets": timer.figures,
        "transpose": transpose,
        "csc_bytes": {
            "indices": idx,
            "data": data,
            "total": idx + data,
            "bytes_per_nnz": round((idx + data) / max(csc.nnz, 1), 3),
        },  # fmt: skip
        "home_bytes": artifacts.dir_bytes(home),
        "slow_steps": slow,
        "requested_n_samples": n_samples,
        "requested_n_features": n_features,
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "total_seconds": round(time.perf_counter() - t0, 3),
    }


def time_analysis(home: str | Path, assets: Sequence[str], progress: Progress = print,
                  profile: str = "seed") -> dict:  # fmt: skip
    """Re-run only `assets` (analysis steps) on an existing home, published as the suite
    does; {asset: seconds and RSS} (the profile's analysis settings)."""
    unknown = [a for a in assets if a not in ANALYSIS_ASSETS]
    if unknown:
        raise ValueError(
            f"not analysis assets: {unknown}; choose from {', '.join(ANALYSIS_ASSETS)}"
        )
    timer = StepTimer(progress, limits=SLOW_LIMITS)
    with publishing.writing(Path(home)):
        run_analysis(Path(home), load_config(profile), timer, assets)
    slow = [a for a in assets if timer.figures[a]["seconds"] > SLOW_LIMITS[a]]
    return {"home": str(home), "assets": timer.figures, "slow_steps": slow}


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(description="write a synthetic seed-scale SPLAT_HOME")
    p.add_argument("home")
    p.add_argument("--small", action="store_true", help="20,000 x 512, for a quick look")
    p.add_argument("--no-analysis", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help="comma-separated analysis assets to re-time")
    args = p.parse_args(argv)
    if args.only:
        print(json.dumps(time_analysis(args.home, args.only.split(",")), indent=2))
        return 0
    small = SMALL if args.small else {}
    report = write_seed_store(args.home, seed=args.seed, analysis=not args.no_analysis, **small)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover - manual use
    raise SystemExit(main())

"""One function per asset: read inputs, compute, write into a staging directory, return
metadata. Asset bodies (splat_assets) call exactly one of these; tests call them directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from splat_core.builds.reference import read_reference_dataset
from splat_core.builds.samples import SampleTable, make_samples, shard_builds
from splat_core.builds.synth import generate_builds
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import Vocab, WeaponVocab
from splat_core.domain.weapons import weapon_table
from splat_core.model.io import load_model, load_params
from splat_core.model.pooled import pooled_vectors
from splat_core.model.train import held_out_metrics, split_builds, train_model
from splat_core.pipeline.checks import CheckOutcome, StepResult, check_pooled, check_samples
from splat_core.pipeline.config import SplatConfig
from splat_core.pipeline.preflight import (
    check_model,
    check_sae,
    check_sources,
    load_imported_sae,
)
from splat_core.sae import encode_csr, evaluate_sae, fingerprint, train_sae
from splat_core.sae.planted import best_feature_per_label
from splat_core.sparse import build_csc, check_csr
from splat_core.store import artifacts
from splat_core.store.contract import CSC_ZARR
from splat_core.store.lineage import StaleInputError

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def load_builds(config: SplatConfig, progress: Progress = _quiet) -> BuildTable:
    """The configured build source: the synthetic generator or validated reference files."""
    data = config.data
    if data.source == "synthetic":
        return generate_builds(config.synth)
    table, report = read_reference_dataset(
        data.data, data.vocab, data.weapon_vocab, skip_invalid=data.skip_invalid
    )
    if report.n_skipped:
        progress(f"skipped {report.n_skipped} invalid rows: {report.by_kind}")
    return table


def vocab_step(out: Path, config: SplatConfig) -> dict:
    """The vocabularies; first, every outside source of the run is checked (preflight.py),
    so that a bad data file or checkpoint stops the run before anything is published."""
    check_sources(config)
    data = config.data
    if data.source == "reference":
        vocab, weapons = Vocab.from_json(data.vocab), WeaponVocab.from_json(data.weapon_vocab)
    else:
        vocab = Vocab.canonical()
        weapons = WeaponVocab.from_weapon_ids(w.weapon_id for w in weapon_table())
    return artifacts.write_vocab_dir(out, vocab, weapons)


def builds_step(out: Path, config: SplatConfig, progress: Progress = _quiet) -> dict:
    table = load_builds(config, progress)
    return artifacts.write_builds_dir(out, table, config.data.source)


def samples_step(out: Path, builds: BuildTable, shard: int, config: SplatConfig) -> StepResult:
    s = config.samples
    ids = shard_builds(len(builds), s.n_shards, shard)
    samples = make_samples(builds, ids, s.instances, s.include_full, s.seed)
    meta = artifacts.write_samples_dir(out, samples, builds)
    return StepResult(meta, check_samples(samples, builds, s.instances + int(s.include_full)))


def base_model_step(
    out: Path, builds: BuildTable, config: SplatConfig, progress: Progress = _quiet
) -> dict:
    """Train on `builds`, or import a reference checkpoint and measure it on held-out builds."""
    source = config.model.source
    if source == "trained":
        result = train_model(builds, config.train, progress)
        return artifacts.write_model_dir(out, result.model, result.params, result.metrics, source)
    model = load_model(config.model.path)
    check_model(model, len(builds.vocab), config.model.path)
    t = config.train
    split = split_builds(len(builds), t.val_frac, t.test_frac, t.seed)
    metrics = held_out_metrics(model, builds, split, t)
    params = load_params(Path(config.model.path))
    return artifacts.write_model_dir(out, model, params, metrics, source)


def pooled_step(out: Path, model, samples: SampleTable, config: SplatConfig) -> StepResult:
    pooled = pooled_vectors(model, samples, config.samples.batch_size)
    meta = artifacts.write_pooled_dir(out, pooled, samples.sample_start)
    return StepResult(meta, check_pooled(pooled, len(samples)))


def sae_step(
    out: Path,
    pooled: Mapping[str, object],
    samples: Mapping[str, SampleTable],
    builds: BuildTable,
    model,
    config: SplatConfig,
    progress: Progress = _quiet,
) -> dict:
    """Train (or import) the SAE on every pooled vector; record its quality metrics."""
    keys = sorted(pooled)
    if keys != sorted(samples) or any(pooled[k].shape[0] != len(samples[k]) for k in keys):
        raise StaleInputError(
            f"pooled shards {keys} do not match the samples shards {sorted(samples)} "
            "(shard for shard, one vector per sample): materialize pooled again"
        )
    x = np.concatenate([np.asarray(pooled[k][:]) for k in keys])
    sample_build = np.concatenate([samples[k].build_id for k in keys])
    source = config.sae_source
    if source.source != "trained":
        sae = load_imported_sae(source.source, source.path)
        check_sae(sae, x.shape[1], source.path)
        sae_config, history = {"imported_from": source.path}, []
    else:
        sae_config = replace(config.sae, input_dim=x.shape[1])
        sae, history = train_sae(x, sae_config, progress)
    metrics = quality_metrics(sae, x, sample_build, builds, model, config)
    metrics["history"] = history
    if builds.archetype is not None:
        metrics["archetype_auroc"] = planted_auroc(sae, x, sample_build, builds, config)
    return artifacts.write_sae_dir(out, sae, sae_config, metrics, config.sae_source.source)


def quality_metrics(sae, x, sample_build, builds, model, config: SplatConfig) -> dict:
    """EV, L0 and dead fraction over all samples; loss recovered on held-out builds' samples."""
    t = config.train
    test_builds = split_builds(len(builds), t.val_frac, t.test_frac, t.seed).test
    held = np.flatnonzero(np.isin(sample_build, test_builds))
    held = _subsample(held, config.sae_eval.max_loss_samples, config.sae_eval.seed)
    targets = builds.multi_hot()[sample_build[held]].astype(np.float32)
    columns = np.asarray(builds.vocab.content_ids())
    return evaluate_sae(sae, x, model.output_layer, targets, columns, held_out_rows=held)


def planted_auroc(sae, x, sample_build, builds, config: SplatConfig) -> dict:
    rows = _subsample(np.arange(len(x)), config.sae_eval.max_auroc_samples, config.sae_eval.seed)
    with torch.no_grad():
        acts = sae.encode(torch.from_numpy(x[rows])).numpy()
    labels = builds.archetype[sample_build[rows]]
    return best_feature_per_label(acts, labels, builds.archetype_names)


def _subsample(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def activations_step(out: Path, sae, pooled, config: SplatConfig) -> StepResult:
    x = np.asarray(pooled[:])
    sample_start = int(pooled.attrs["sample_start"])
    csr = encode_csr(sae, x, config.samples.batch_size)
    meta = artifacts.write_activations_dir(
        out, csr, sae.n_features, sample_start, attrs={"sae_fingerprint": fingerprint(sae)}
    )
    problems = check_csr(artifacts.open_artifact(out))
    if meta["rows"] != len(x):
        problems.append(f"{meta['rows']} rows for {len(x)} pooled vectors")
    return StepResult(
        meta, CheckOutcome.from_problems(problems, rows=meta["rows"], nnz=meta["nnz"])
    )


def _transpose_progress(progress: Progress) -> Callable[[str, int, int], None]:
    """Report each phase of the transpose about every 10%."""
    last: dict[str, int] = {}

    def report(phase: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if last.get(phase) != tenth:
            last[phase] = tenth
            progress(f"transpose {phase}: {done:,}/{total:,} nonzeros")

    return report


def feature_store_step(
    out: Path, activations: Mapping[str, object], sae, config: SplatConfig,
    progress: Progress = _quiet,
) -> dict:  # fmt: skip
    """The streaming transpose of every CSR shard into one CSC store."""
    shards = [activations[k] for k in sorted(activations)]
    expected = fingerprint(sae)
    other = [
        k for k in sorted(activations) if activations[k].attrs.get("sae_fingerprint") != expected
    ]
    if other:
        raise StaleInputError(
            f"activations shards {other} were computed with another SAE than the current one "
            f"({expected}): materialize them again"
        )
    n_samples = max((s.sample_start + s.shape[0] for s in shards), default=0)
    stats = build_csc(
        shards, out / CSC_ZARR, n_features=sae.n_features, n_samples=n_samples,
        memory_budget_bytes=config.store.memory_budget_mb << 20, tmp_dir=out / ".spill",
        progress=_transpose_progress(progress), attrs={"sae_fingerprint": fingerprint(sae)},
    )  # fmt: skip
    artifacts.mark(out, "feature_store", shape=[n_samples, sae.n_features])
    return {"n_samples": n_samples, "n_features": sae.n_features, **stats,
            "bytes": artifacts.dir_bytes(out)}  # fmt: skip


# The step of each asset up to the feature store (analysis_steps.ANALYSIS_STEPS: the rest):
# what its code version is derived from (code_versions.py).
STEPS: dict[str, Callable] = {
    "vocab": vocab_step,
    "builds": builds_step,
    "samples": samples_step,
    "base_model": base_model_step,
    "pooled": pooled_step,
    "sae": sae_step,
    "activations": activations_step,
    "feature_store": feature_store_step,
}

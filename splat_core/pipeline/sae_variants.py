"""SAE variants: several SAEs trained on one home's pooled vectors, measured side by side.

A variant is a name and `sae.*` settings over the home's profile, written as on the command
line: `wide arch=topk n_features=1024 k=16`. `variant_table` trains each one exactly as the
`sae` asset does (same data, same held-out builds, same metrics and planted-archetype AUROC)
and times its training, so architectures are compared on equal terms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from splat_core.builds.table import BuildTable
from splat_core.pipeline.config import SplatConfig, load_config
from splat_core.pipeline.steps import planted_auroc, quality_metrics
from splat_core.sae import save_sae, train_sae
from splat_core.store import variants
from splat_core.store.artifacts import open_current

Progress = Callable[[str], None]


class Variant(NamedTuple):
    name: str
    """The user's name for it (a partition key later: letters, digits, '-', '_')."""
    settings: tuple[str, ...]
    """`sae.field=value` overrides, in the order given."""


class HomeInputs(NamedTuple):
    """What the `sae` asset reads, loaded once for every variant."""

    pooled: np.ndarray
    """[N, d] every pooled vector, shards in key order."""
    sample_build: np.ndarray
    """[N] the build of each sample."""
    builds: BuildTable
    model: object
    """The base model (its output layer scores loss recovered)."""


def parse_variant(spec: str) -> Variant:
    """`name key=value ...` (keys are SAEConfig fields; `features` is n_features)."""
    name, *pairs = spec.split()
    if not name.replace("-", "").replace("_", "").isalnum() or "=" in name:
        raise ValueError(f"variant {spec!r}: start with a name (letters, digits, '-', '_')")
    settings = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            raise ValueError(f"variant {name!r}: {pair!r} must look like key=value")
        key = {"features": "n_features"}.get(key, key)
        settings.append(f"sae.{key}={value}")
    return Variant(name, tuple(settings))


def variant_config(profile: str, overrides: Sequence[str], variant: Variant) -> SplatConfig:
    """The home's config with the variant's SAE settings on top (unknown keys: ValueError)."""
    try:
        return load_config(profile, [*overrides, *variant.settings])
    except ValueError as e:
        raise ValueError(f"variant {variant.name!r}: {e}") from None


def define_variant(home, profile: str, overrides: Sequence[str], spec: str) -> bool:
    """Record variant `spec` (`NAME key=value ...`) in the home (store/variants.py) once its
    settings load over the profile (unknown keys, bad values: ValueError, nothing written);
    True if anything changed."""
    variant = parse_variant(spec)
    variant_config(profile, overrides, variant)
    return variants.define(home, variant.name, variant.settings)


def load_home_inputs(home) -> HomeInputs:
    pooled, samples = open_current(home, "pooled"), open_current(home, "samples")
    keys = sorted(pooled)
    if keys != sorted(samples):
        raise ValueError(f"pooled shards {keys} != samples shards {sorted(samples)}")
    x = np.concatenate([np.asarray(pooled[k][:]) for k in keys])
    sample_build = np.concatenate([samples[k].build_id for k in keys])
    return HomeInputs(x, sample_build, open_current(home, "builds"),
                      open_current(home, "base_model"))  # fmt: skip


def measure_variant(
    inputs: HomeInputs, config: SplatConfig, progress: Progress, save_to: Path | None = None
) -> dict:
    """Train one variant as the `sae` asset would and measure it (and save it, loadable by
    `load_sae`, when `save_to` is given)."""
    x, sample_build, builds, model = inputs
    sae_config = replace(config.sae, input_dim=x.shape[1])
    start = time.perf_counter()
    sae, _history = train_sae(x, sae_config, progress)
    seconds = time.perf_counter() - start
    m = quality_metrics(sae, x, sample_build, builds, model, config)
    row = {
        "arch": config.sae.arch,
        "n_features": sae.n_features,
        "k": config.sae.k if config.sae.arch in ("topk", "batchtopk", "matryoshka") else None,
        "explained_variance": m["explained_variance"],
        "loss_recovered": m["loss_recovered"],
        "mean_l0": m["mean_l0"],
        "dead_fraction": m["dead_fraction"],
        "train_seconds": round(seconds, 2),
        **planted_summary(sae, x, sample_build, builds, config),
    }
    if save_to is not None:
        save_sae(save_to, sae, sae_config, {k: v for k, v in m.items() if k != "history"})
    e = config.sae_eval
    row["passes"] = bool(
        m["explained_variance"] >= e.min_explained_variance
        and m["loss_recovered"] >= e.min_loss_recovered
        and m["dead_fraction"] <= e.max_dead_fraction
    )
    return row


def planted_summary(sae, x, sample_build, builds: BuildTable, config: SplatConfig) -> dict:
    """The planted archetypes' AUROC, min and median over archetypes (each archetype's best
    feature: sae/planted.py); {} for builds without planted archetypes."""
    if builds.archetype is None:
        return {}
    aurocs = [a["auroc"] for a in planted_auroc(sae, x, sample_build, builds, config).values()]
    return {"auroc_min": min(aurocs), "auroc_median": statistics.median(aurocs)}


def variant_table(
    home, profile: str, overrides: Sequence[str], variants: Sequence[Variant],
    progress: Progress = print, save_dir: Path | None = None,
) -> list[dict]:  # fmt: skip
    """One row per variant: EV, loss recovered, L0, dead fraction, min and median planted
    AUROC (synthetic builds only), training seconds, and whether it passes the profile's
    quality bounds (`sae_eval`). With `save_dir`, each SAE is saved in save_dir/<name>."""
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names repeat: {names}")
    configs = [variant_config(profile, overrides, v) for v in variants]  # all checked first
    inputs = load_home_inputs(home)
    rows = []
    for variant, config in zip(variants, configs, strict=True):
        progress(f"training variant {variant.name} ({' '.join(variant.settings) or 'defaults'})")
        save_to = Path(save_dir) / variant.name if save_dir is not None else None
        rows.append({"variant": variant.name, **measure_variant(inputs, config, _quiet, save_to)})
        progress(f"  {rows[-1]}")
    return rows


def _quiet(_message: str) -> None:
    pass


class PooledInputs(NamedTuple):
    """One generation's pooled vectors and what absorption reads of its samples."""

    x: np.ndarray
    """[N, d] every pooled vector, shards in key order."""
    presence: object
    """bool sparse [N, vocab]: the tokens of each sample's input (absorption.token_presence)."""
    families: dict
    """family -> rung token ids (absorption.rung_families)."""
    token_names: list[str]


class SAESide(NamedTuple):
    """One SAE over the pooled vectors: what matching and absorption read of it."""

    acts: object
    """CSRArrays [N, F] its activations (encode_csr)."""
    decoder: np.ndarray
    """[d, F] its unit decoder directions."""
    absorption: dict
    """mean_absorption_rate, its SE, n_supported and the families (analysis/absorption.py)."""


def pooled_inputs(pooled: Mapping[str, object], samples: Mapping[str, object]) -> PooledInputs:
    """{shard: pooled array} and {shard: SampleTable} of the same shards, read once."""
    from splat_core.analysis.absorption import rung_families, token_presence
    from splat_core.builds.sample_meta import SampleMeta

    if sorted(pooled) != sorted(samples):
        raise ValueError(f"pooled shards {sorted(pooled)} != samples shards {sorted(samples)}")
    x = np.concatenate([np.asarray(pooled[k][:]) for k in sorted(pooled)])
    meta = SampleMeta.from_tables([samples[k] for k in sorted(samples)])
    names = [meta.vocab.id_to_token[i] for i in range(len(meta.vocab.id_to_token))]
    return PooledInputs(x, token_presence(meta), rung_families(meta.vocab), names)


def sae_side(sae, inputs: PooledInputs) -> SAESide:
    """An SAE's activations, decoder and absorption over the pooled vectors."""
    from splat_core.analysis.absorption import absorption
    from splat_core.sae import encode_csr

    acts = encode_csr(sae, inputs.x)
    decoder = sae.decoder_directions().detach().cpu().numpy()
    a = absorption(acts, decoder, inputs.presence, inputs.families,
                   token_names=inputs.token_names)  # fmt: skip
    keep = ("mean_absorption_rate", "mean_absorption_rate_se", "n_supported")
    return SAESide(acts, decoder, {k: a[k] for k in keep} | {"families": a["families"]})


def match_sides(side_a: SAESide, side_b: SAESide, **thresholds: float):
    """sae/matching.py's match_features of two SAEs' sides (a FeatureMatching)."""
    from splat_core.sae.matching import match_features

    return match_features(side_a.decoder, side_b.decoder, side_a.acts, side_b.acts, **thresholds)


def compare_saes(
    pooled: Mapping[str, object], samples: Mapping[str, object], sae_a, sae_b,
    n_examples: int = 3, **thresholds: float,
) -> dict:  # fmt: skip
    """Two SAEs of the same pooled vectors ({shard: array} with their {shard: SampleTable},
    one generation's) feature by feature (sae/matching.py: one-to-one, split, absorbed, ...),
    and each one's absorption on the rung hierarchy (analysis/absorption.py);
    `n_examples` features of each category with their children."""
    inputs = pooled_inputs(pooled, samples)
    sides = [sae_side(sae, inputs) for sae in (sae_a, sae_b)]
    m = match_sides(*sides, **thresholds)
    by_category: dict[str, list[dict]] = {}
    for row in sorted(m.rows_a, key=lambda r: -r["n_fire"]):
        by_category.setdefault(row["category"], []).append(row)
    return {
        "n_features": [sae_a.n_features, sae_b.n_features],
        "counts": m.counts,
        "summary": m.summary,
        "examples": {c: rows[:n_examples] for c, rows in by_category.items()},
        "absorption": [side.absorption for side in sides],
    }

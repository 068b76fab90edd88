"""Settings: profiles are named sets of config defaults; every value stays overridable.

Overrides are `section.field=value` strings (e.g. `train.epochs=3`), parsed as JSON where
possible and as plain strings otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

from splat_core.builds.synth import SynthConfig
from splat_core.choices import check_choices
from splat_core.explain.search import ExplainConfig
from splat_core.model.train import TrainConfig
from splat_core.sae import SAEConfig
from splat_core.store import variants
from splat_core.store.contract import DEFAULT_SAE


@dataclass(frozen=True)
class DataConfig:
    """Where builds come from: the embedded generator, or SplatNLP reference files."""

    source: Literal["synthetic", "reference"] = "synthetic"
    data: str = ""  # reference tokenized_data.csv
    vocab: str = ""  # reference vocab.json
    weapon_vocab: str = ""  # reference weapon_vocab.json
    skip_invalid: bool = False

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class SamplesConfig:
    """The analysed examples: `instances` partial builds per build (+ the full build)."""

    n_shards: int = 4
    instances: int = 4
    include_full: bool = True
    seed: int = 0
    batch_size: int = 4096  # for model and SAE forward passes


@dataclass(frozen=True)
class SourceConfig:
    """A trained artifact, or one imported from a reference directory."""

    source: Literal["trained", "reference"] = "trained"
    path: str = ""  # the reference directory

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class SAESourceConfig(SourceConfig):
    """The SAE: trained, or imported from a reference (SplatNLP) or a SAELens directory."""

    source: Literal["trained", "reference", "saelens"] = "trained"


@dataclass(frozen=True)
class SAEEvalConfig:
    max_loss_samples: int = 50_000  # held-out samples for downstream loss recovered
    max_auroc_samples: int = 50_000  # samples for the planted-archetype AUROC
    seed: int = 0
    # Bounds of the blocking SAE quality check.
    min_explained_variance: float = 0.7
    min_loss_recovered: float = 0.7
    max_dead_fraction: float = 0.1


@dataclass(frozen=True)
class AnalysisConfig:
    histogram_bins: int = 20
    top_n: int = 1000  # top activations a feature's token and weapon breakdowns look at
    k_tokens: int = 20  # enhancers kept per feature
    k_suppressors: int = 10
    k_weapons: int = 10  # per kind (weapon, class, sub, special)
    k_influence: int = 20  # top + and - tokens per feature
    k_neighbors: int = 10  # per kind (decoder cosine, co-activation)
    k_correlations: int = 10  # Pearson-correlated features kept per feature


@dataclass(frozen=True)
class FeatureMapConfig:
    """The 2-D map of decoder directions (`analysis/feature_map.py`)."""

    method: Literal["umap", "pca"] = "umap"  # umap falls back to pca (the map's meta says why)
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 0

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class StoreConfig:
    memory_budget_mb: int = 256  # for the transpose into the feature store


@dataclass(frozen=True)
class SplatConfig:
    profile: str = "default"
    data: DataConfig = field(default_factory=DataConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model: SourceConfig = field(default_factory=SourceConfig)
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    sae: SAEConfig = field(default_factory=SAEConfig)
    sae_source: SAESourceConfig = field(default_factory=SAESourceConfig)
    sae_eval: SAEEvalConfig = field(default_factory=SAEEvalConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    feature_map: FeatureMapConfig = field(default_factory=FeatureMapConfig)

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, dict[str, dict]] = {
    # Tests: seconds on a laptop. Loose quality bounds: the model and SAE are barely trained.
    "tiny": {
        "synth": {"n_builds": 2_000},
        "train": {"hidden_dim": 32, "num_inducing_points": 4, "epochs": 3, "batch_size": 64,
                  "instances_per_epoch": 1, "lr": 3e-3},
        "samples": {"n_shards": 2, "instances": 4},
        "sae": {"n_features": 64, "k": 4, "aux_k": 16, "epochs": 20, "batch_size": 256,
                "lr": 3e-3},
        "sae_eval": {"min_explained_variance": 0.5, "min_loss_recovered": 0.3,
                     "max_dead_fraction": 0.25},
        # UMAP compiles for ~20 s in every process: the tiny home maps by PCA
        "feature_map": {"method": "pca"},
    },
    # The embedded demo: minutes on 2 CPU cores.
    "default": {
        "synth": {"n_builds": 40_000},
        "train": {"hidden_dim": 64, "epochs": 3, "batch_size": 256, "lr": 3e-3},
        "samples": {"n_shards": 4, "instances": 4},
        # matryoshka: above topk, batchtopk, jumprelu and relu at L0 16 in EV, loss recovered
        # and planted AUROC over three seeds, at ~1.4x topk's training time (measured:
        # docs/bench/sae-variants-2026-12-01.md); tiny and seed keep SAEConfig's topk
        "sae": {"arch": "matryoshka", "n_features": 512, "k": 16},
        "sae_eval": {"min_explained_variance": 0.9, "min_loss_recovered": 0.9,
                     "max_dead_fraction": 0.02},
    },
    # The reference's scale (Ultra model config); for a GPU or a patient CPU.
    "seed": {
        "synth": {"n_builds": 500_000},
        "train": {"embedding_dim": 32, "hidden_dim": 512, "num_layers": 3, "num_heads": 8,
                  "num_inducing_points": 32, "epochs": 5, "batch_size": 1024, "lr": 3e-4,
                  "instances_per_epoch": 5},
        "samples": {"n_shards": 16, "instances": 2},
        "sae": {"n_features": 24_576, "k": 64, "aux_k": 256, "batch_size": 4096},
    },
}  # fmt: skip


def load_config(profile: str = "default", overrides: list[str] | None = None) -> SplatConfig:
    """The profile's defaults with `section.field=value` overrides applied."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    sections = {k: dict(v) for k, v in PROFILES[profile].items()}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise ValueError(f"override {item!r} must look like section.field=value")
        sections.setdefault(section, {})[name] = _parse_value(raw)
    config = SplatConfig(profile=profile)
    for section, values in sections.items():
        if section not in {f.name for f in fields(SplatConfig)} or section == "profile":
            raise ValueError(f"unknown config section {section!r}")
        current = getattr(config, section)
        known = {f.name: f for f in fields(current)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(
                    f"unknown setting {section}.{name}; known: {', '.join(sorted(known))}"
                )
            expected = type(getattr(current, name))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                values[name] = value = float(value)
            if expected is tuple and isinstance(value, list):  # JSON has lists, configs tuples
                values[name] = value = tuple(value)
            if not isinstance(value, expected):
                raise ValueError(f"{section}.{name} must be {expected.__name__}, got {value!r}")
        try:  # each section validates its own fields (__post_init__)
            updated = replace(current, **values)
        except ValueError as e:
            raise ValueError(f"{section}.{e}") from None
        config = replace(config, **{section: updated})
    return config


def home_config(
    home, profile: str, overrides: Sequence[str], sae: str = DEFAULT_SAE
) -> SplatConfig:
    """The config SAE variant `sae` of a home computes with: the profile and overrides, then
    the variant's `sae.*` settings (store/variants.py; the default variant has none)."""
    settings = variants.settings_of(home, sae)
    try:
        return load_config(profile, [*overrides, *settings])
    except ValueError as e:
        raise ValueError(f"SAE variant {sae!r}: {e}") from None


def variant_configs(
    home, profile: str, overrides: Sequence[str], saes: Sequence[str] | None = None
) -> dict[str, SplatConfig]:
    """{variant: its config} of the chosen SAE variants of a home (all, default first, when
    `saes` is None); UnknownVariantError for a variant the home does not define."""
    defined = variants.defined(home)
    chosen = list(defined) if saes is None else list(dict.fromkeys(saes))
    for name in chosen:
        if name not in defined:
            raise variants.UnknownVariantError(name, list(defined))
    return {name: home_config(home, profile, overrides, name) for name in chosen}


def _parse_value(raw: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw

"""The asset contract: every asset's key, order, group, partitioning, format and files.

Written once here and read by everyone who names an asset: the IO managers and the asset
definitions (splat_assets), the runner's stages and the shard schedule, the artifact
writers and readers (store.artifacts), the query layer, the API's table routes and the
benchmarks. Asset keys, file names and check names are contracts with outside readers
(the Dagster UI, `splat info --json`, tools that open a version directory): change them
only together with everything that reads them.

A version directory holds `artifact.json` ({"kind", "format", ...}) plus the asset's files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from splat_core.checkpoints import (
    METRICS_JSON,
    MODEL_PARAMS,
    MODEL_WEIGHTS,
    SAE_CONFIG,
    SAE_WEIGHTS,
)

Group = Literal["data", "model", "sae", "analysis"]
IOManager = Literal["parquet_io", "zarr_io", "checkpoint_io"]

ARTIFACT = "artifact.json"  # in every version directory: what it holds and in which format
VOCAB_JSON = "vocab.json"  # the ability vocabulary, SplatNLP's format (token -> id)
WEAPON_VOCAB_JSON = "weapon_vocab.json"  # the weapon vocabulary (weapon key -> dense index)
WEAPONS_PARQUET = "weapons.parquet"
BUILDS_PARQUET = "builds.parquet"
SAMPLES_PARQUET = "samples.parquet"
POOLED_ZARR = "pooled.zarr"
CSR_ZARR = "csr.zarr"
CSC_ZARR = "csc.zarr"
INFLUENCE_ZARR = "influence.zarr"
SAE_MATCHING_PARQUET = "sae_matching.parquet"  # sae_comparison: every pair's matched features
SAE_COMPARISON_JSON = "sae_comparison.json"  # sae_comparison: each pair's counts, absorption
VOCAB_FILES = (VOCAB_JSON, WEAPON_VOCAB_JSON)  # beside builds and samples: they decode them
INTACT = "every published file matches the version's checksums (MANIFEST.json)"


@dataclass(frozen=True)
class Check:
    """An asset check: its name (a contract with the Dagster UI) and what it guards."""

    name: str
    description: str


@dataclass(frozen=True)
class AssetSpec:
    name: str
    """The asset key, and the directory under SPLAT_HOME."""
    group: Group
    """The Dagster asset group."""
    io_manager: IOManager
    """The IO manager (resource key) that publishes and loads it."""
    format: str
    """`format` in artifact.json: parquet, zarr, checkpoint or parquet+zarr."""
    files: tuple[str, ...]
    """The files of a version directory, besides artifact.json."""
    description: str
    """One line, shown in the Dagster UI."""
    checks: tuple[Check, ...]
    """Its data check first; then `<asset>_intact`, added to every asset below."""
    deps: tuple[str, ...] = ()
    """The assets it is computed from."""
    partitioned: bool = False
    """One version per shard (`<asset>/<shard>/<version>`) instead of one per asset."""
    kind: str = ""
    """`kind` in artifact.json; the asset name unless set (base_model's is `model`)."""
    key: str | None = None
    """Analysis tables: the column rows are grouped by (feature_id, or token_id)."""
    part: str | None = None
    """Feature tables: the short name of the Reader method, API path and summary part."""
    per_sae: bool = False
    """One per SAE variant: the `sae` asset and everything computed from it (set below)."""
    across_saes: bool = False
    """Reads every SAE variant at once (one version for the home, not one per variant)."""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.name)

    @property
    def table_file(self) -> str:
        """The Parquet file of an analysis table."""
        if self.group != "analysis":
            raise ValueError(f"{self.name} is not an analysis table")
        return f"{self.name}.parquet"


def _table(name: str, deps: tuple[str, ...], description: str, *, part: str | None,
           key: str = "feature_id", extra: tuple[str, ...] = ()) -> AssetSpec:  # fmt: skip
    check = Check(f"{name}_valid", "feature ids in range and sorted, no NaN")
    fmt = "parquet+zarr" if extra else "parquet"
    return AssetSpec(name, "analysis", "parquet_io", fmt, (f"{name}.parquet", *extra),
                     description, (check,), deps, key=key, part=part)  # fmt: skip


# In graph order: every asset comes after what it is computed from.
ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec(
        "vocab", "data", "parquet_io", "parquet", (*VOCAB_FILES, WEAPONS_PARQUET),
        "Ability and weapon vocabularies, and the weapon table.",
        (Check("vocab_valid", "<PAD> present, ids contiguous"),),
    ),
    AssetSpec(
        "builds", "data", "parquet_io", "parquet", (BUILDS_PARQUET, *VOCAB_FILES),
        "Full builds: synthetic (seeded) or a validated SplatNLP tokenized_data.csv.",
        (Check("builds_valid", "ids within vocabularies, no <PAD>"),), deps=("vocab",),
    ),
    AssetSpec(
        "base_model", "model", "checkpoint_io", "checkpoint",
        (MODEL_WEIGHTS, MODEL_PARAMS, METRICS_JSON),
        "SetCompletionModel trained on the builds, or imported from a reference checkpoint.",
        (Check("base_model_finite", "finite weights"),), deps=("builds",), kind="model",
    ),
    AssetSpec(
        "samples", "data", "parquet_io", "parquet", (SAMPLES_PARQUET, *VOCAB_FILES),
        "Deterministic partial builds of one shard of builds.",
        (Check("samples_consistent", "ids contiguous, inputs are subsets of their builds"),),
        deps=("builds",), partitioned=True,
    ),
    AssetSpec(
        "pooled", "model", "zarr_io", "zarr", (POOLED_ZARR,),
        "The model's masked-mean vector of every sample in the shard.",
        (Check("pooled_finite", "one finite vector per sample"),),
        deps=("base_model", "samples"), partitioned=True,
    ),
    AssetSpec(
        "sae", "sae", "checkpoint_io", "checkpoint",
        (SAE_WEIGHTS, SAE_CONFIG, METRICS_JSON),
        "Sparse autoencoder on all pooled vectors (trained, or a reference import).",
        (Check("sae_quality",
               "explained variance, loss recovered and dead fraction within bounds"),),
        deps=("pooled", "samples", "builds", "base_model"),
    ),
    AssetSpec(
        "activations", "sae", "zarr_io", "zarr", (CSR_ZARR,),
        "SAE activations of the shard's samples, sparse CSR.",
        (Check("csr_valid", "scipy CSR invariants, one row per sample, no NaN"),),
        deps=("sae", "pooled"), partitioned=True,
    ),
    AssetSpec(
        "feature_store", "sae", "zarr_io", "zarr", (CSC_ZARR,),
        "Feature-major CSC copy of all activations, each feature's entries highest first.",
        (Check("feature_store_valid", "CSC invariants, descending order per feature, no NaN, "
                                      "nnz conserved from the CSR shards"),),
        deps=("activations", "sae"),
    ),
    _table("feature_stats", ("feature_store",), part="stats", description=(
        "Per feature: count, density, mean, std, max and quantiles of its activations.")),
    _table("feature_histograms", ("feature_store",), part="histogram", description=(
        "Per feature: bins over its nonzero range (counts sum to its activations).")),
    _table("token_idf", ("samples",), part=None, key="token_id", description=(
        "idf(t) = ln(N+1) - ln(df(t)+1) over all samples, with df.")),
    _table("feature_tokens", ("feature_store", "samples", "token_idf"), part="tokens",
           description="Per feature: token enrichment among its top activations, and TF-IDF."),
    _table("feature_weapons", ("feature_store", "samples"), part="weapons", description=(
        "Per feature: weapon, class, sub and special breakdown of its top activations.")),
    _table("feature_influence", ("base_model", "sae", "vocab"), part="influence",
           extra=(INFLUENCE_ZARR,), description=(
               "W_out . W_dec: logit change per unit of each feature, and its top +/- tokens.")),
    _table("feature_neighbors", ("feature_store", "sae"), part="neighbors", description=(
        "Per feature: decoder-cosine and co-activation (Jaccard) neighbors.")),
    _table("feature_explanations", ("feature_store", "samples"), part="explanations",
           description=("Per feature: the input rules that best predict where it fires, "
                        "scored on held-out samples beside a shuffled null.")),
    _table("feature_correlations", ("feature_store",), part="correlations", description=(
        "Per feature: the features whose activations correlate most (Pearson over all "
        "samples, zeros included).")),
    _table("feature_map", ("sae",), part="map", description=(
        "Every feature's decoder direction placed in 2-D (UMAP, cosine; PCA fallback).")),
    AssetSpec(
        "sae_comparison", "analysis", "parquet_io", "parquet",
        ("sae_comparison.parquet", SAE_MATCHING_PARQUET, SAE_COMPARISON_JSON),
        "Every SAE variant's quality side by side; each pair's features matched (one-to-one, "
        "split, absorbed) with their absorption on the rung hierarchy.",
        (Check("sae_comparison_valid", "one row per variant, finite metrics, matched "
                                       "features within each SAE"),),
        deps=("sae", "pooled", "samples", "builds", "base_model"), across_saes=True,
    ),
)  # fmt: skip


def _per_sae(assets: tuple[AssetSpec, ...]) -> set[str]:
    """`sae` and every asset computed from it, directly or not."""
    out = {"sae"}
    for a in assets:  # graph order: inputs first
        if out & set(a.deps) and not a.across_saes:
            out.add(a.name)
    return out


# Every asset also has an integrity check: its published files against their checksums.
ASSETS = tuple(replace(a, checks=(*a.checks, Check(f"{a.name}_intact", INTACT)),
                       per_sae=a.name in _per_sae(ASSETS)) for a in ASSETS)  # fmt: skip
SPECS: dict[str, AssetSpec] = {a.name: a for a in ASSETS}
BY_KIND: dict[str, AssetSpec] = {a.kind: a for a in ASSETS}
ASSET_NAMES: tuple[str, ...] = tuple(SPECS)
SHARD_ASSETS: tuple[str, ...] = tuple(a.name for a in ASSETS if a.partitioned)
PER_SAE_ASSETS: tuple[str, ...] = tuple(a.name for a in ASSETS if a.per_sae)
ANALYSIS_ASSETS: tuple[str, ...] = tuple(a.name for a in ASSETS if a.group == "analysis")
FEATURE_TABLES: tuple[str, ...] = tuple(a.name for a in ASSETS if a.part)
TABLE_OF_PART: dict[str, str] = {a.part: a.name for a in ASSETS if a.part}


# --- SAE variants: several SAEs of one home, each with its own per-SAE assets ------------------
# The default variant keeps the plain names (`sae/`, `activations/000/`, ...); another one's
# assets live beside them as `<asset>@<variant>` (`sae@wide/`, `activations@wide/000/`), and
# share everything before the SAE (builds, model, samples, pooled vectors).
DEFAULT_SAE = "default"
SAE_SEP = "@"
SAE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")  # a path part, S3 key and partition key


def check_sae_name(name: str) -> str:
    if not SAE_NAME.match(name):
        raise ValueError(f"SAE variant name {name!r}: use 1-40 letters, digits, '-' or '_', "
                         "starting with a letter or digit")  # fmt: skip
    return name


def stored_name(asset: str, sae: str = DEFAULT_SAE) -> str:
    """The directory (and catalog key) of an asset of SAE variant `sae`."""
    if sae == DEFAULT_SAE or not SPECS[asset].per_sae:
        return asset
    return f"{asset}{SAE_SEP}{check_sae_name(sae)}"


def split_stored(name: str) -> tuple[str, str]:
    """(asset, SAE variant) of a directory name: `feature_stats@wide` -> (feature_stats, wide)."""
    asset, sep, sae = name.partition(SAE_SEP)
    return asset, (sae if sep else DEFAULT_SAE)


def check_names(names) -> None:
    """ValueError naming the unknown ones, if any of `names` is not an asset."""
    unknown = set(names) - set(ASSET_NAMES)
    if unknown:
        raise ValueError(f"unknown assets {sorted(unknown)}; choose from {', '.join(ASSET_NAMES)}")


def shard_keys(n_shards: int) -> list[str]:
    """The partition keys of the shard assets: "000", "001", ..."""
    return [f"{i:03d}" for i in range(n_shards)]


def spec(name: str) -> AssetSpec:
    """The asset's spec; a clear error naming the known assets otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown asset {name!r}; known: {', '.join(ASSET_NAMES)}") from None


def kinds(io_manager: IOManager) -> tuple[str, ...]:
    """The artifact kinds an IO manager stores."""
    return tuple(a.kind for a in ASSETS if a.io_manager == io_manager)

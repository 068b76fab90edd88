"""Request and response models: the API's OpenAPI schema."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from splat_core.explain.rules import MAX_CONDITIONS, MAX_TERMS
from splat_core.explain.search import CONFIDENCE, TARGETS, confidence
from splat_core.query.summary import PARTS
from splat_server.limits import MAX_BATCH_COST


def _digits_only(value):
    """Path ids are plain integers: `1_0`, `+3` or ` 3` are not ids (int() would take them)."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be an integer written with digits only")
    return value


PathId = Annotated[int, BeforeValidator(_digits_only), Field(ge=-(2**63), lt=2**63)]  # int64


class Input(BaseModel):
    """Request bodies: no float may be NaN or infinite."""

    model_config = ConfigDict(allow_inf_nan=False)


class Error(BaseModel):
    detail: str | list = Field(description="what was wrong (422: one entry per bad field)")


class Health(BaseModel):
    status: Literal["healthy", "no_data", "damaged"] = Field(
        description="'healthy' when a feature store is materialized, 'no_data' when none is, "
        "'damaged' when it fails its checksums (see `problem`)"
    )
    model_type: str = Field(description="always 'splat' (the seed served 'full' or 'ultra')")
    n_features: int
    n_samples: int
    nnz: int = Field(description="nonzero activations in the feature store")
    uptime_seconds: float
    data_version: str = Field(description="hash of the asset versions this answer was read from")
    generation: str | None = Field(
        default=None, description="the served generation (null: a home written before them)"
    )
    versions: dict[str, str] = Field(
        description="asset (or asset/partition) -> version, of the SAE variant answered"
    )
    problem: str | None = Field(default=None, description="what is damaged, when it is")
    sae: str = Field(default="default", description="the SAE variant this answer read")
    saes: list[str] = Field(
        default_factory=list, description="the SAE variants served (GET /saes), default first"
    )


class SaeInfo(BaseModel):
    name: str = Field(description="the variant's name (the `sae` query parameter)")
    arch: str | None = Field(default=None, description="topk, batchtopk, jumprelu, ...")
    n_features: int | None = None
    k: int | None = Field(default=None, description="active features per sample (top-k archs)")
    settings: list[str] = Field(
        default_factory=list, description="its sae.* settings over the profile's"
    )
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="quality on all pooled vectors: explained_variance, loss_recovered, "
        "mean_l0, dead_fraction, n_dead, mse",
    )


class Saes(BaseModel):
    default: str = Field(description="the variant answered without `sae`")
    saes: list[SaeInfo] = Field(description="the variants the served generation holds")


class FeatureIds(BaseModel):
    feature_ids: list[int]


class ActivationRow(BaseModel):
    sample_id: int | None = Field(default=None, description="only with shape=splat")
    activation: float
    weapon_id: int = Field(description="the weapon's model input index (see /context/inv_vocab)")
    ability_input_tokens: list[int] | None = Field(
        default=None, description="input token ids (see /context/inv_vocab); absent if excluded"
    )


class Activations(BaseModel):
    feature_id: int
    n_rows: int
    columns: list[str]
    data: list[ActivationRow] = Field(description="rows in descending activation order")
    load_time_ms: float


class Vocabularies(BaseModel):
    vocab: dict[str, int] = Field(description="token -> id")
    weapon_vocab: dict[str, int] = Field(description="'weapon_id_<id>' -> model input index")


class InverseVocabularies(BaseModel):
    inv_vocab: dict[str, str] = Field(description="str(token id) -> token")
    inv_weapon_vocab: dict[str, str] = Field(description="str(weapon index) -> 'weapon_id_<id>'")


class Weapon(BaseModel):
    index: int = Field(description="model input index")
    weapon_id: int = Field(description="the game's weapon id")
    name: str | None
    weapon_class: str | None
    sub: str | None
    special: str | None


class Example(BaseModel):
    rank: int = Field(
        description="1-based position in the feature's descending order (0: it does not fire)"
    )
    sample_id: int
    activation: float
    weapon: Weapon
    tokens: list[str]
    build_id: int
    bin: int | None = Field(default=None, description="quantile examples: the bin (low to high)")
    bin_lo: float | None = None
    bin_hi: float | None = None


class ExampleGroup(BaseModel):
    rank: int = Field(description="rank of the group's first (highest) example")
    count: int = Field(description="examples with this weapon and token set among those read")
    sample_ids: list[int] = Field(description="the group's samples, highest first")
    max_activation: float
    mean_activation: float
    weapon: Weapon
    tokens: list[str]
    build_id: int = Field(description="the first example's build")
    bin: int | None = Field(default=None, description="quantile groups: the bin (low to high)")
    bin_lo: float | None = None
    bin_hi: float | None = None


class Build(BaseModel):
    build_id: int
    weapon: Weapon
    tokens: list[str]


class ContainingBuilds(BaseModel):
    sample_id: int
    tokens: list[str] = Field(description="the sample's (partial) input")
    build: Build = Field(description="the full build the sample was drawn from")
    others: list[Build] = Field(description="other builds on the weapon holding every token")
    n_others: int = Field(description="how many such builds there are (others: the first)")


class Negative(BaseModel):
    sample_id: int
    weapon: Weapon
    tokens: list[str]
    build_id: int
    shared: int = Field(description="how many of the feature's top tokens the sample holds")
    shared_tokens: list[str]


class NonActivating(BaseModel):
    top_tokens: list[str] = Field(description="the feature's first enhancer tokens")
    random: list[Negative] = Field(description="seeded random samples where it is 0")
    hard: list[Negative] = Field(description="samples where it is 0 holding the most top tokens")


class Stats(BaseModel):
    feature_id: int
    nnz: int
    density: float
    mean_all: float = Field(description="mean over all samples, zeros included")
    mean_nonzero: float
    std_nonzero: float
    min: float
    max: float
    p50: float
    p90: float
    p99: float
    p99_5: float


class HistogramBin(BaseModel):
    bin: int
    lo: float
    hi: float
    count: int


class TokenRow(BaseModel):
    kind: str = Field(description="'enhancer' (enriched in the top activations) or 'suppressor'")
    rank: int
    token_id: int
    token: str
    count_top: int
    n_top: int
    rate_top: float
    base_rate: float
    enrichment: float
    tfidf: float


class WeaponRow(BaseModel):
    kind: str = Field(description="'weapon', 'class', 'sub', 'special' or 'kit'")
    rank: int
    key: str
    name: str | None
    count_top: int
    n_top: int
    rate_top: float
    base_rate: float
    enrichment: float


class InfluenceRow(BaseModel):
    sign: Literal["+", "-"]
    rank: int
    token_id: int
    token: str
    value: float = Field(description="decoder direction . output weights of the token")


class NeighborRow(BaseModel):
    kind: str = Field(description="'decoder' (cosine of decoder rows) or 'coactivation'")
    rank: int
    neighbor_id: int
    value: float
    n_both: int | None = None


class CorrelationRow(BaseModel):
    rank: int
    neighbor_id: int
    pearson: float = Field(
        description="Pearson correlation of the two features' activations "
        "over all samples, zeros included"
    )
    n_both: int = Field(description="samples where both fire")


class MapPoint(BaseModel):
    feature_id: int
    x: float
    y: float


class RuleScores(BaseModel):
    """A rule's held-out scores for one feature (the samples the search did not fit on)."""

    target: Literal[TARGETS] = Field(
        description="what the rule detects: 'fires' (any nonzero activation) or 'strong' "
        "(at or above the search's strong quantile of the nonzero activations)"
    )
    rule: str = Field(description="the rule's text: `POST .../explanations/score` reads it")
    sentence: str = Field(description="the rule in the game's words")
    precision: float
    recall: float
    f1: float
    auroc: float | None = Field(
        description="of the rule's margin (0 where it fails, 1 + AP above its thresholds "
        "where it holds); null where the held-out samples hold no positive"
    )
    spearman: float | None = Field(
        description="activation vs margin where the rule holds; null where either is constant"
    )
    coverage: float = Field(description="fraction of the held-out samples where the rule holds")
    null_f1: float = Field(description="F1 against as many positives drawn at random")
    null_auroc: float | None = Field(description="AUROC against the same random positives")
    n_positive: int = Field(description="held-out samples of the target")
    n_scored: int = Field(description="held-out samples")
    confidence: Literal[CONFIDENCE] = Field(
        description=" ".join(f"f1 against null_f1. {confidence.__doc__}".split())
    )


class ExplanationRow(RuleScores):
    rank: int = Field(description="1 = the feature's best explanation (by fit_f1)")
    n_terms: int = Field(description=f"terms joined by '|' (at most {MAX_TERMS})")
    n_conditions: int = Field(
        description=f"conditions in all terms (at most {MAX_CONDITIONS} joined by '&' per term)"
    )
    fit_f1: float = Field(description="F1 on the samples the search fit on")


class RuleIn(Input):
    rule: str = Field(
        min_length=1, max_length=4000,
        description="conditions joined by & (and), terms by | (or), e.g. 'run_speed_up >= 21 "
        "& class = splatling | ninja_squid', 'no quick_respawn & special in {Trizooka, "
        "Zipcaster}', 'weapon = \"Splattershot Jr.\"'",
    )  # fmt: skip


class ScoredRule(RuleScores):
    feature_id: int


class ExplanationExamples(BaseModel):
    hard_negatives: list[Example] = Field(
        description="where the best rule holds but the feature does not fire (deepest "
        "inside the rule first; rank and activation 0)"
    )
    misses: list[Example] = Field(
        description="samples of the best rule's target where it fails (highest first)"
    )


class LabelOut(BaseModel):
    feature_id: int
    name: str
    category: str
    notes: str
    confidence: float | None
    source: str
    importance_percentile: float | None = None
    stability_score: float | None = None
    research_label: str | None = None
    research_state_path: str | None = None
    hypothesis_confidence: float | None = None
    rule: str | None = Field(default=None, description="what the labeller says it detects")
    rule_score: dict | None = Field(
        default=None,
        description="the rule's held-out scores (as `POST .../explanations/score` answers) "
        "and the `data_version` they were computed on; rescored when a read finds another",
    )
    created_at: str
    updated_at: str
    version: int = Field(description="1 on creation, +1 on each write (for expected_version)")


class FeatureSummary(BaseModel):
    feature_id: int
    nnz: int
    stats: Stats | None
    histogram: list[HistogramBin]
    tokens: list[TokenRow]
    weapons: list[WeaponRow]
    influence: list[InfluenceRow]
    neighbors: list[NeighborRow]
    explanations: list[ExplanationRow]
    correlations: list[CorrelationRow]
    map: MapPoint | None = Field(description="its point on the feature map (null: zero direction)")
    label: LabelOut | None
    data_version: str


class FeatureIndexRow(BaseModel):
    feature_id: int
    nnz: int
    density: float | None
    max: float | None
    top_token: str | None = Field(description="the first enhancer token, if any")
    label: str | None


class SampleFeature(BaseModel):
    feature_id: int
    activation: float


class Sample(BaseModel):
    sample_id: int
    weapon: Weapon
    tokens: list[str]
    build_id: int
    features: list[SampleFeature] = Field(description="the sample's top features")


class TokenFeature(BaseModel):
    feature_id: int
    value: float = Field(description="the feature's output influence on the token")


class BuildIn(Input):
    weapon_id: int = Field(description="the game's weapon id (e.g. 40)")
    abilities: dict[str, int] = Field(
        max_length=32,
        description="ability -> AP, e.g. {'swim_speed_up': 12, 'ninja_squid': 10}",
    )


class EncodeIn(BuildIn):
    top_predictions: int = Field(default=20, ge=0, le=200)
    top_features: int = Field(default=50, ge=0, le=1000)


class Prediction(BaseModel):
    token: str
    probability: float


class EncodeOut(BaseModel):
    weapon_id: int
    tokens: list[str] = Field(description="the model input built from the abilities")
    predictions: list[Prediction]
    features: list[SampleFeature]


class WhatIfIn(BuildIn):
    feature: int | None = Field(default=None, description="order variants by this feature")
    top_changes: int = Field(default=5, ge=0, le=50)
    max_variants: int = Field(default=200, ge=0, le=1000)


class PredictionChange(BaseModel):
    token: str
    delta: float


class VariantOut(BaseModel):
    kind: Literal["add", "remove", "weapon"]
    change: str
    weapon_id: int
    abilities: dict[str, int]
    tokens: list[str]
    feature_activation: float | None
    feature_delta: float | None
    prediction_changes: list[PredictionChange]


class WhatIfOut(BaseModel):
    base: EncodeOut
    feature: int | None
    feature_activation: float | None
    variants: list[VariantOut]


class LabelIn(Input):
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(
        default="none", description="none | mechanical | tactical | strategic | auxiliary"
    )
    notes: str = Field(default="", max_length=10_000)
    confidence: float | None = Field(default=None, ge=0, le=1)
    source: str = Field(default="api", min_length=1, max_length=100)
    importance_percentile: float | None = Field(default=None, ge=0, le=100)
    stability_score: float | None = None
    rule: str | None = Field(
        default=None, max_length=4096,
        description="what the feature detects, in the explanation language (e.g. "
        "'swim_speed_up >= 12 & class = shooter'); stored in its canonical text and scored",
    )  # fmt: skip
    expected_version: int | None = Field(
        default=None, ge=0, description="write only if the label is at this version (0: new)"
    )


class ImportResult(BaseModel):
    imported: int


Part = Literal[PARTS]


class BatchIn(Input):
    feature_ids: list[int] = Field(min_length=1, max_length=256)
    parts: list[Part] = Field(
        default=["stats", "tokens", "influence", "label"], max_length=len(PARTS)
    )
    top_k: int = Field(default=10, ge=0, le=100, description="rows per table kind")
    examples: int = Field(default=10, ge=0, le=100, description="top examples per feature")

    @model_validator(mode="after")
    def _bounded(self) -> BatchIn:
        """features x (parts + examples) at most MAX_BATCH_COST: split larger requests."""
        parts = set(self.parts)
        per_feature = len(parts - {"examples"}) + (self.examples if "examples" in parts else 0)
        cost = len(self.feature_ids) * max(per_feature, 1)
        if cost > MAX_BATCH_COST:
            raise ValueError(
                f"this batch costs {cost} (features x (parts + examples)); at most "
                f"{MAX_BATCH_COST}: split it into smaller requests"
            )
        return self


class BatchFeature(BaseModel):
    feature_id: int
    nnz: int
    stats: Stats | None = None
    histogram: list[HistogramBin] | None = None
    tokens: list[TokenRow] | None = None
    weapons: list[WeaponRow] | None = None
    influence: list[InfluenceRow] | None = None
    neighbors: list[NeighborRow] | None = None
    explanations: list[ExplanationRow] | None = None
    correlations: list[CorrelationRow] | None = None
    map: MapPoint | None = None
    label: LabelOut | None = None
    examples: list[Example] | None = None


class BatchOut(BaseModel):
    features: list[BatchFeature]
    data_version: str


class BatchActivationsIn(Input):
    feature_ids: list[int] = Field(min_length=1, max_length=256)
    limit: int | None = Field(default=100, ge=0, le=100_000, description="top-N per feature")
    include_abilities: bool = True


class FeatureEditIn(Input):
    feature_id: int = Field(ge=0)
    op: Literal["clamp", "scale", "add", "direct"] = Field(
        description="clamp: set to value; scale: multiply; add: add value; direct: add "
        "value x the decoder direction to the raw pooled vector"
    )
    value: float


class SteerIn(Input):
    edits: list[FeatureEditIn] = Field(min_length=1, max_length=32)
    weapon_id: int | None = Field(default=None, description="steer this build ...")
    abilities: dict[str, int] = Field(default_factory=dict, max_length=32)
    feature: int | None = Field(
        default=None, ge=0, description="... or this feature's examples (default: the first edit's)"
    )
    source: Literal["top", "core"] = "top"
    n_examples: int = Field(default=50, ge=1, le=1000)
    seed: int = Field(default=0, ge=0, lt=2**32)
    top_tokens: int = Field(default=200, ge=0, le=1000, description="ranked token rows returned")

    @model_validator(mode="after")
    def _build_or_examples(self) -> SteerIn:
        if self.abilities and self.weapon_id is None:
            raise ValueError("abilities describe a build: give its weapon_id too")
        return self


class SteerFeature(BaseModel):
    feature_id: int
    before: float
    after: float


class SteerChange(BaseModel):
    token: str
    before: float
    after: float
    delta: float


class SteerBuildOut(BaseModel):
    weapon_id: int
    abilities: dict[str, int]
    tokens: list[str]
    edits: list[str]
    features: list[SteerFeature]
    changes: list[SteerChange] = Field(description="every output token, largest |delta| first")
    completion_before: list[str] = Field(description="tokens > 0.5 not in the input")
    completion_after: list[str]
    added: list[str]
    removed: list[str]


class SteerMeanChange(BaseModel):
    token: str
    mean_before: float | None
    mean_after: float | None
    mean_delta: float | None
    stderr: float | None
    n: int


class SteerExamplesOut(BaseModel):
    feature_id: int
    source: str
    edits: list[str]
    n_examples: int
    changes: list[SteerMeanChange] = Field(description="largest |mean delta| first")
    n_completion_changed: int
    n_tokens_added: int
    n_tokens_removed: int


# --- interactions, minimal activating sets, contrastive itemsets (routes/causal.py) ----------


class MeanEffect(BaseModel):
    mean: float | None = Field(description="mean over the examples measured")
    stderr: float | None = Field(description="standard deviation (ddof 1) / sqrt(n)")
    n: int
    z: float | None = Field(description="mean / stderr")


class InteractionCell(BaseModel):
    x_rung: int
    y_rung: int
    n: int = Field(description="examples on which this cell is a legal build")
    mean: float | None = Field(description="mean re-computed activation")
    stderr: float | None
    n_illegal: int
    interaction: float | None = Field(description="mean of A(x,y) - A(x,0) - A(0,y) + A(0,0)")
    interaction_stderr: float | None
    interaction_n: int = Field(description="examples whose four cells are legal")
    z: float | None
    reliable: bool = Field(description="interaction measured on at least 20 examples")


class MainEffect(MeanEffect):
    rung: int


class InteractionOut(BaseModel):
    feature_id: int
    x: str
    y: str
    x_grid: list[int]
    y_grid: list[int]
    source: str
    population: str
    n_examples: int
    stored_mean: float | None
    base_mean: float | None = Field(description="the unedited examples, re-computed")
    max_recompute_diff: float | None
    n_rows: int = Field(description="legal cells run through the model")
    n_illegal: int
    definitions: dict[str, str]
    cells: list[InteractionCell]
    main_x: list[MainEffect]
    main_y: list[MainEffect]
    strongest: dict | None = Field(description="the cell with the largest |z| (reliable first)")


class PairTerm(MeanEffect):
    families: list[str]
    absent: str


class Cell3(MeanEffect):
    present: list[str]
    rungs: list[int]
    n_illegal: int


class Interaction3Out(BaseModel):
    feature_id: int
    families: list[str]
    rungs: list[int]
    source: str
    population: str
    n_examples: int
    stored_mean: float | None
    base_mean: float | None
    max_recompute_diff: float | None
    n_illegal: int
    definitions: dict[str, str]
    three_way: MeanEffect
    pairwise: list[PairTerm]
    cells: list[Cell3]


class SubsetOut(BaseModel):
    tokens: list[str]
    activation: float
    kept_fraction: float


class MinimalExample(BaseModel):
    sample_id: int
    rank: int
    weapon_id: int
    tokens: list[str]
    stored: float
    activation: float = Field(description="the full build, re-computed")
    threshold: float
    n_evals: int
    searched_up_to: int = Field(description="largest subset size evaluated (-1: none)")
    complete: bool
    min_size: int | None
    weapon_alone: bool
    note: str | None
    sets: list[SubsetOut]


class MinimalSet(BaseModel):
    tokens: list[str]
    size: int
    n_examples: int
    mean_kept_fraction: float | None


class TokenShare(BaseModel):
    token: str
    n_examples: int
    share: float


class MinimalSetsOut(BaseModel):
    feature_id: int
    population: str
    fraction: float
    max_tokens: int
    max_evals: int
    definitions: dict[str, str]
    n_examples: int
    n_complete: int
    n_incomplete: int
    n_weapon_alone: int
    min_size: MeanEffect
    sets: list[MinimalSet]
    token_shares: list[TokenShare]
    examples: list[MinimalExample]


class Itemset(BaseModel):
    items: list[str]
    size: int
    count: int
    support_high: float
    count_all: int
    support_all: float
    lift: float
    max_subset_lift: float | None


class ItemsetsOut(BaseModel):
    feature_id: int
    items: Literal["abilities", "tokens"]
    population: str
    high_quantile: float
    high_threshold: float | None
    n_high: int
    n_all: int
    min_support: float
    min_count: int
    max_size: int
    n_frequent: list[int] = Field(description="frequent sets in the high group, by size")
    definitions: dict[str, str]
    itemsets: list[Itemset] = Field(description="largest lift first")


# --- two features compared, the logit histogram, the feature map (investigate/compare.py) ---


class Rate(BaseModel):
    p: float | None = Field(description="k / n (None when n is 0)")
    stderr: float | None = Field(description="binomial standard error sqrt(p(1-p)/n)")
    k: int
    n: int


class Pearson(BaseModel):
    r: float | None = Field(description="None when either activation is constant")
    stderr: float | None
    n: int


class OverlapCounts(BaseModel):
    both: int
    only_f: int
    only_g: int
    neither: int


class SharedTokens(BaseModel):
    f: list[str] | None = Field(description="top enhancer tokens (None: no feature_tokens)")
    g: list[str] | None
    shared: list[str] | None


class ScatterPoint(BaseModel):
    sample_id: int
    a_f: float
    a_g: float


class Scatter(BaseModel):
    n_total: int = Field(description="samples where either feature fires")
    n_shown: int
    note: str
    points: list[ScatterPoint]


class CompareOut(BaseModel):
    feature_id: int
    other_id: int
    population: str
    n_samples: int
    counts: OverlapCounts
    p_g_given_f: Rate
    p_f_given_g: Rate
    rate_f: Rate
    rate_g: Rate
    jaccard: float | None
    pearson_all: Pearson
    pearson_cofiring: Pearson
    decoder_cosine: float | None
    top_tokens: SharedTokens
    scatter: Scatter
    definitions: dict[str, str]


class LogitToken(BaseModel):
    token: str
    value: float
    ability: str | None
    rung: int | None


class LogitHistogramOut(BaseModel):
    feature_id: int
    population: str
    n_tokens: int
    mean: float
    std: float | None
    min: float
    max: float
    edges: list[float] = Field(description="bins + 1 bin edges")
    counts: list[int]
    top_positive: list[LogitToken]
    top_negative: list[LogitToken]
    definitions: dict[str, str]


class FeatureMapPoint(BaseModel):
    feature_id: int
    x: float
    y: float
    label: str | None
    top_token: str | None
    family: str | None = Field(description="ability family of its first enhancer token")
    explanation_f1: float | None = Field(description="held-out F1 of its best rule")
    firing_rate: float | None


class FeatureMapOut(BaseModel):
    method: str | None = Field(description="umap or pca")
    color: Literal["label", "family", "explanation"]
    n_features: int
    population: str
    points: list[FeatureMapPoint]
    definitions: dict[str, str]


# --- validation: split halves, shuffle nulls, interference (routes/validation.py) ----------


class NullTest(BaseModel):
    observed: float | None = Field(description="the statistic on the real data")
    p_value: float | None = Field(description="(1 + #null >= observed) / (1 + n_perm)")
    n_null_at_least: int | None = None
    null_mean: float | None
    null_sd: float | None
    null_p95: float | None
    histogram: dict | None = Field(description="the null's histogram: edges, counts")


class SweepAgreement(BaseModel):
    n_rungs: int = Field(description="rungs with enough samples in both halves")
    pearson_r: float | None = Field(description="correlation of the halves' deltas")
    sign_agreement: float | None = Field(description="share of deltas with the same sign")


class TokenAgreement(BaseModel):
    n_items: int = Field(description="items with enough samples in both halves")
    pearson_r: float | None = Field(description="correlation of the halves' deltas")
    sign_agreement: float | None = Field(description="share of deltas with the same sign")
    top_a: list[str]
    top_b: list[str]
    top_shared: list[str]
    top_overlap: float = Field(description="|top_a & top_b| / top_k")


class ValidateSweepRow(BaseModel):
    rung: int
    label: str
    n: int
    mean: float | None
    delta: float | None
    delta_stderr: float | None
    n_a: int
    delta_a: float | None
    n_b: int
    delta_b: float | None
    reliable_both: bool


class PeakTest(NullTest):
    rung: int | None
    label: str | None
    delta: float | None


class ValidateSweepOut(BaseModel):
    feature_id: int
    family: str
    main_only: bool
    population: str
    seed: int
    n_perm: int
    min_n: int
    rows: list[ValidateSweepRow]
    agreement: SweepAgreement
    peak: PeakTest
    eta_squared: NullTest
    definitions: dict[str, str]


class ValidateTokenRow(BaseModel):
    item: str
    kind: Literal["enhancer", "suppressor"]
    n_with: int
    delta: float | None
    delta_stderr: float | None
    cohens_d: float | None
    delta_a: float | None
    delta_b: float | None
    p_value: float | None = Field(description="per item: not corrected for multiple testing")
    p_bonferroni: float | None
    null_mean_abs: float | None
    null_p95_abs: float | None


class ValidateTokensOut(BaseModel):
    feature_id: int
    items: Literal["abilities", "tokens"]
    population: str
    seed: int
    n_perm: int
    min_n: int
    top_k: int
    agreement: TokenAgreement
    n_items_tested: int
    rows: list[ValidateTokenRow]
    note: str
    definitions: dict[str, str]


class RuleHalfScores(BaseModel):
    n: int
    n_positive: int
    n_holds: int
    precision: float
    recall: float
    f1: float


class ValidateRuleOut(BaseModel):
    feature_id: int
    rule: str
    sentence: str
    target: str
    population: str
    seed: int
    n_perm: int
    all: RuleHalfScores
    half_a: RuleHalfScores
    half_b: RuleHalfScores
    f1_difference: float
    explainer_split: dict[str, RuleHalfScores]
    held_out_scores: dict
    f1_null: NullTest
    definitions: dict[str, str]


class MeanStderr(BaseModel):
    mean: float | None
    stderr: float | None
    n: int
    p_value: float | None = Field(description="paired sign-flip null, two-sided")


class InterferenceEffects(BaseModel):
    n: int
    remove_top: MeanStderr
    remove_family: MeanStderr
    lower_rungs: MeanStderr
    top_share: float | None
    lower_share: float | None


class InterferenceOut(BaseModel):
    feature_id: int
    family: str
    source: str
    seed: int
    n_perm: int
    applies: bool
    population: str
    reason: str | None = None
    n_examples: int | None = None
    n_holding: int | None = None
    n_with_lower_rungs: int | None = None
    base_mean: float | None = None
    max_recompute_diff: float | None = None
    all_holding: InterferenceEffects | None = None
    with_lower_rungs: InterferenceEffects | None = None
    summary: str | None = None
    definitions: dict[str, str] | None = None

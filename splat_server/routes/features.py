"""A feature's tables and examples, beyond the seed; and the index of all features."""

from __future__ import annotations

from fastapi import APIRouter, Query

from splat_core.investigate.examples import (
    grouped_examples,
    grouped_quantile_examples,
    non_activating,
)
from splat_core.investigate.explanations import explain_feature, score_rule
from splat_core.labels import LabelStore
from splat_core.query.summary import TABLE_PARTS, feature_index, feature_parts
from splat_core.store.contract import TABLE_OF_PART
from splat_server import models
from splat_server.deps import LabelsDep, ReaderDep, StateDep
from splat_server.errors import TooExpensive
from splat_server.limits import MAX_QUANTILE_EXAMPLES
from splat_server.models import PathId

router = APIRouter(prefix="/features", tags=["features"])

TOP_K = Query(10, ge=0, le=100, description="rows per kind (enhancer/suppressor, +/-, ...)")


def label_dict(store: LabelStore, f: int) -> dict | None:
    label = store.get(f)
    return None if label is None else label.to_dict()


@router.get(
    "/index",
    response_model=list[models.FeatureIndexRow],
    summary="Every feature: nnz, density, max, top token, label",
)
async def index(r: ReaderDep, store: LabelsDep, state: StateDep):
    def build():
        return feature_index(r, {label.feature_id: label.name for label in store.all()})

    return await state.pool.run(build)


@router.get(
    "/{feature_id}",
    response_model=models.FeatureSummary,
    summary="Stats, histogram, top tokens, weapons, influence, neighbors, explanations, "
    "correlations, map point, label",
)
def summary(feature_id: PathId, r: ReaderDep, store: LabelsDep, top_k: int = TOP_K):
    parts = (*TABLE_PARTS, "label")
    out = feature_parts(r, feature_id, parts, top_k, label=lambda f: label_dict(store, f))
    return {**out, "data_version": r.data_version}


@router.get(
    "/{feature_id}/examples",
    response_model=list[models.Example],
    summary="The top-k examples: weapon, tokens and activation",
)
def examples(feature_id: PathId, r: ReaderDep, k: int = Query(20, ge=0, le=1000)):
    return [e.to_dict() for e in r.top_examples(feature_id, k)]


def check_quantile_cost(n_bins: int, per_bin: int) -> None:
    if n_bins * per_bin > MAX_QUANTILE_EXAMPLES:
        raise TooExpensive(f"n_bins x per_bin is at most {MAX_QUANTILE_EXAMPLES}")


@router.get(
    "/{feature_id}/examples/quantiles",
    response_model=list[models.Example],
    summary="Examples across the activation range: seeded picks per quantile bin",
)
async def quantile_examples(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    n_bins: int = Query(10, ge=1, le=100),
    per_bin: int = Query(5, ge=0, le=100),
    seed: int = Query(0, ge=0, le=2**32 - 1),
):
    check_quantile_cost(n_bins, per_bin)
    pick = lambda: r.quantile_examples(feature_id, n_bins, per_bin, seed)  # noqa: E731
    return [e.to_dict() for e in await state.pool.run(pick)]


@router.get(
    "/{feature_id}/examples/groups",
    response_model=list[models.ExampleGroup],
    summary="The top k distinct inputs (weapon + tokens), identical examples merged with a count",
)
async def example_groups(
    feature_id: PathId, r: ReaderDep, state: StateDep, k: int = Query(20, ge=0, le=1000)
):
    pick = lambda: grouped_examples(r, feature_id, k)  # noqa: E731
    return [g.to_dict() for g in await state.pool.run(pick)]


@router.get(
    "/{feature_id}/examples/quantiles/groups",
    response_model=list[models.ExampleGroup],
    summary="Quantile examples with identical inputs in a bin merged",
)
async def quantile_example_groups(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    n_bins: int = Query(10, ge=1, le=100),
    per_bin: int = Query(5, ge=0, le=100),
    seed: int = Query(0, ge=0, le=2**32 - 1),
):
    check_quantile_cost(n_bins, per_bin)
    pick = lambda: grouped_quantile_examples(r, feature_id, n_bins, per_bin, seed)  # noqa: E731
    return [g.to_dict() for g in await state.pool.run(pick)]


@router.get(
    "/{feature_id}/examples/negatives",
    response_model=models.NonActivating,
    summary="Where it does not fire: random samples, and hard negatives holding its top tokens",
)
async def negatives(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    k: int = Query(20, ge=0, le=200),
    seed: int = Query(0, ge=0, le=2**32 - 1),
    n_tokens: int = Query(3, ge=0, le=20, description="top tokens the hard negatives share"),
):
    pick = lambda: non_activating(r, feature_id, k, seed, n_tokens)  # noqa: E731
    return (await state.pool.run(pick)).to_dict()


@router.get("/{feature_id}/stats", response_model=models.Stats | None, summary="Statistics")
def stats(feature_id: PathId, r: ReaderDep):
    return r.stats(feature_id) or None


@router.get(
    "/{feature_id}/map",
    response_model=models.MapPoint | None,
    summary="Its point on the feature map (2-D embedding of decoder directions)",
)
def map_point(feature_id: PathId, r: ReaderDep):
    return r.map_point(feature_id) or None


ROWS = {  # each feature table's row model and route summary, by its contract part name
    "histogram": (models.HistogramBin, "Histogram of the nonzero activations"),
    "tokens": (models.TokenRow, "Enhancer and suppressor tokens (enrichment, TF-IDF)"),
    "weapons": (models.WeaponRow, "Weapons, classes, subs, specials and kits among the top"),
    "influence": (models.InfluenceRow, "Output tokens the feature pushes up (+) and down (-)"),
    "neighbors": (models.NeighborRow, "Nearest features by decoder cosine and co-activation"),
    "explanations": (models.ExplanationRow, "Input rules that predict where it fires, best first"),
    "correlations": (models.CorrelationRow, "Features whose activations correlate most (Pearson)"),
}


def _table_route(part: str, row_model, summary: str) -> None:
    asset = TABLE_OF_PART[part]

    def rows(feature_id: PathId, r: ReaderDep):
        return r.feature_rows(asset, feature_id)

    rows.__name__ = part
    router.get(f"/{{feature_id}}/{part}", response_model=list[row_model], summary=summary)(rows)


for _part in TABLE_PARTS:
    if _part not in ("stats", "map"):  # one row, answered above
        _table_route(_part, *ROWS[_part])


# The Explainer (every sample's input, split as the table was) is built on a snapshot's first
# use: seconds at scale, so these run in the heavy pool.


@router.get(
    "/{feature_id}/explanations/examples",
    response_model=models.ExplanationExamples,
    summary="Where the best explanation is wrong: hard negatives and misses",
)
async def explanation_examples(
    feature_id: PathId, r: ReaderDep, state: StateDep, k: int = Query(5, ge=0, le=100)
):
    return await state.pool.run(lambda: explain_feature(r, feature_id, k))


@router.post(
    "/{feature_id}/explanations/score",
    response_model=models.ScoredRule,
    summary="Any rule's held-out scores for the feature (a bad rule: 422 naming the column)",
)
async def score(feature_id: PathId, body: models.RuleIn, r: ReaderDep, state: StateDep):
    return await state.pool.run(lambda: score_rule(r, feature_id, body.rule))

"""Two features compared, a feature's logit histogram, and the feature map
(splat_core.investigate.compare)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from splat_core.investigate.compare import compare_features, logit_histogram, map_points
from splat_server import models
from splat_server.deps import LabelsDep, ReaderDep, StateDep
from splat_server.models import PathId

router = APIRouter(tags=["features"])


@router.get(
    "/features/{feature_id}/compare/{other_id}",
    response_model=models.CompareOut,
    summary="Two features over all samples: overlap, conditional firing, correlations, scatter",
)
async def compare(
    feature_id: PathId,
    other_id: PathId,
    r: ReaderDep,
    state: StateDep,
    max_points: int = Query(2000, ge=0, le=20000, description="scatter points (seeded pick)"),
    seed: int = Query(0, ge=0, le=2**32 - 1),
):
    return await state.pool.run(lambda: compare_features(r, feature_id, other_id, max_points, seed))


@router.get(
    "/features/{feature_id}/logit_histogram",
    response_model=models.LogitHistogramOut,
    summary="Histogram of the feature's direct effect on every output logit (W_out . d_f)",
)
async def logits(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    bins: int = Query(40, ge=1, le=500),
    top_k: int = Query(10, ge=0, le=200),
):
    return await state.pool.run(lambda: logit_histogram(r, feature_id, bins, top_k))


@router.get(
    "/feature_map",
    response_model=models.FeatureMapOut,
    summary="Every feature's point on the 2-D map of decoder directions, with label, top "
    "family and explanation F1 (503 until feature_map is materialized)",
)
async def feature_map(
    r: ReaderDep,
    store: LabelsDep,
    state: StateDep,
    color: Literal["label", "family", "explanation"] = "label",
):
    labels = {x.feature_id: x.name for x in store.all()}
    return await state.pool.run(lambda: map_points(r, color, labels))

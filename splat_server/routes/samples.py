"""Samples, token -> features search, and running the model on a custom build."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Path, Query

from splat_core.investigate.examples import containing_builds
from splat_core.query import UnknownFeatureError
from splat_server import models
from splat_server.deps import ReaderDep, StateDep
from splat_server.errors import BadBuildError, UnknownNameError
from splat_server.models import PathId

router = APIRouter(tags=["samples and builds"])


@router.get(
    "/samples/{sample_id}",
    response_model=models.Sample,
    summary="A sample's weapon, input tokens and top features",
)
def sample(sample_id: PathId, r: ReaderDep, k: int = Query(20, ge=0, le=1000)):
    return {**r.sample(sample_id), "features": r.sample_features(sample_id, k)}


@router.get(
    "/samples/{sample_id}/builds",
    response_model=models.ContainingBuilds,
    summary="A sample's full build, and other builds on its weapon that contain its tokens",
)
async def sample_builds(
    sample_id: PathId, r: ReaderDep, state: StateDep, limit: int = Query(20, ge=0, le=200)
):
    pick = lambda: containing_builds(r, sample_id, limit)  # noqa: E731
    return (await state.pool.run(pick)).to_dict()


@router.get(
    "/tokens/{token}/features",
    response_model=list[models.TokenFeature],
    summary="Features that push an output token up (sign '+') or down ('-')",
)
def token_features(
    r: ReaderDep,
    token: str = Path(max_length=64, description="a token name, e.g. swim_speed_up_21"),
    sign: Literal["+", "-"] = "+",
    k: int = Query(20, ge=0, le=1000),
):
    if token not in r.vocabularies[0].token_to_id:
        raise UnknownNameError(f"unknown token {token!r}")
    return r.token_features(token, k, sign)


@contextmanager
def _build_errors():
    """A build the model cannot take is a bad request body (422), not a server error."""
    try:
        yield
    except UnknownFeatureError:
        raise
    except (KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise BadBuildError(str(message)) from None


def _encoding(enc, top_predictions: int, top_features: int) -> dict:
    return {
        "weapon_id": enc.weapon_id,
        "tokens": enc.tokens,
        "predictions": [
            {"token": t, "probability": p} for t, p in enc.top_predictions(top_predictions)
        ],
        "features": [{"feature_id": f, "activation": v} for f, v in enc.features[:top_features]],
    }


@router.post(
    "/encode",
    response_model=models.EncodeOut,
    summary="Run the model and SAE on a build: predictions and feature activations",
)
async def encode(body: models.EncodeIn, r: ReaderDep, state: StateDep):
    with _build_errors():
        enc = await state.pool.run(lambda: r.encode(body.weapon_id, body.abilities))
    return _encoding(enc, body.top_predictions, body.top_features)


@router.post(
    "/whatif",
    response_model=models.WhatIfOut,
    summary="Every single edit of a build (add, remove, swap weapon) and its effect",
)
async def whatif(body: models.WhatIfIn, r: ReaderDep, state: StateDep):
    def run():
        return r.whatif(body.weapon_id, body.abilities, body.feature, body.top_changes)

    with _build_errors():
        result = await state.pool.run(run)
    base = result.base
    variants = [v.to_dict() for v in result.variants[: body.max_variants]]
    for v in variants:
        v["prediction_changes"] = [{"token": t, "delta": d} for t, d in v["prediction_changes"]]
    return {
        "base": _encoding(base, 20, 50),
        "feature": result.feature,
        "feature_activation": (
            None if result.feature is None else float(base.activations[result.feature])
        ),
        "variants": variants,
    }

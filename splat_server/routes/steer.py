"""Steering: edit features in the SAE reconstruction of a build's pooled vector and re-run
the model's output layer (splat_core.investigate.steering)."""

from __future__ import annotations

from fastapi import APIRouter

from splat_core.investigate import FeatureEdit, steer, steer_examples
from splat_core.query import UnknownFeatureError
from splat_server import models
from splat_server.deps import ReaderDep, StateDep
from splat_server.errors import BadBuildError

router = APIRouter(tags=["samples and builds"])


@router.post(
    "/steer",
    response_model=models.SteerBuildOut | models.SteerExamplesOut,
    summary="Clamp, scale or add features and re-run the output layer: probability changes",
)
async def steer_route(body: models.SteerIn, r: ReaderDep, state: StateDep):
    def run():
        edits = [FeatureEdit(e.feature_id, e.op, e.value) for e in body.edits]
        if body.weapon_id is not None:
            return steer(r, body.weapon_id, body.abilities, edits)
        f = body.edits[0].feature_id if body.feature is None else body.feature
        return steer_examples(r, f, edits, body.source, body.n_examples, body.seed)

    try:
        result = await state.pool.run(run)
    except UnknownFeatureError:
        raise
    except (KeyError, ValueError) as e:  # an unknown weapon or ability, illegal AP
        raise BadBuildError(str(e.args[0] if isinstance(e, KeyError) and e.args else e)) from None
    return {**result, "changes": result["changes"][: body.top_tokens]}

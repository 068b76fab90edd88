"""How abilities combine in a feature: interactions on a rung grid and minimal activating sets
(model re-runs, in the heavy pool) and contrastive itemsets (splat_core.investigate
.interactions and .itemsets). A request's model rows are bounded (MAX_ROWS): over it, or
with an unknown family or a bad rung, the answer is a 422; an unknown feature a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from splat_core.investigate import contrastive_itemsets, interaction, interaction3, minimal_sets
from splat_core.query import UnknownFeatureError
from splat_server import errors, models
from splat_server.deps import ReaderDep, StateDep
from splat_server.models import PathId

router = APIRouter(prefix="/features", tags=["features"])

MAX_ROWS = 50_000  # model rows one request may run (examples x cells, or x max_evals)
Rungs = Annotated[list[int] | None, Query(max_length=9, description="rungs of the grid")]


async def _heavy(state, fn: Callable[[], dict]):
    try:
        return await state.pool.run(fn)
    except UnknownFeatureError:
        raise
    except (KeyError, ValueError) as e:  # an unknown family, a bad rung, too many rows
        return errors.invalid(str(e.args[0] if isinstance(e, KeyError) and e.args else e), "query")


@router.get(
    "/{feature_id}/interactions",
    response_model=models.InteractionOut | models.Interaction3Out,
    summary="Families x and y set to each cell of a rung grid on the examples (model re-run): "
    "the interaction beyond additive effects; with z the three-way term on a 2x2x2 grid",
)
async def interactions(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    x: Annotated[str, Query(max_length=64, description="family or main-only ability")],
    y: Annotated[str, Query(max_length=64)],
    z: Annotated[str | None, Query(max_length=64, description="a third: three-way")] = None,
    x_rungs: Rungs = None,
    y_rungs: Rungs = None,
    rungs: Annotated[
        list[int] | None, Query(max_length=3, description="with z: the rung of x, y and z")
    ] = None,
    n: Annotated[int, Query(ge=1, le=1000, description="examples")] = 50,
    source: Literal["top", "core"] = "top",
    seed: Annotated[int, Query(ge=0, lt=2**32)] = 0,
):
    if z is None and rungs:
        return errors.invalid("rungs goes with z; use x_rungs and y_rungs for two", "query")
    if z is not None and (x_rungs or y_rungs):
        return errors.invalid("with z give the three rungs as rungs", "query")

    def run():
        if z is None:
            return interaction(
                r, feature_id, x, y, x_rungs, y_rungs, n, source, seed, max_rows=MAX_ROWS
            )
        return interaction3(r, feature_id, x, y, z, rungs, n, source, seed, max_rows=MAX_ROWS)

    return await _heavy(state, run)


@router.get(
    "/{feature_id}/minimal_sets",
    response_model=models.MinimalSetsOut,
    summary="Smallest token subsets of the top examples keeping the feature >= fraction "
    "of its activation (model re-run), aggregated",
)
async def minimal(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    n: Annotated[int, Query(ge=1, le=200, description="examples")] = 20,
    fraction: Annotated[float, Query(gt=0, le=1)] = 0.5,
    max_tokens: Annotated[int, Query(ge=0, le=24)] = 12,
    max_evals: Annotated[int, Query(ge=1, le=16_384, description="per example")] = 4096,
    source: Literal["top", "core"] = "top",
    seed: Annotated[int, Query(ge=0, lt=2**32)] = 0,
):
    return await _heavy(
        state,
        lambda: minimal_sets(
            r, feature_id, n, fraction, max_tokens, max_evals, MAX_ROWS, source, seed
        ),
    )


@router.get(
    "/{feature_id}/itemsets",
    response_model=models.ItemsetsOut,
    summary="Ability (or token) sets over-represented among the high activations: support and lift",
)
async def itemsets(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    high_quantile: Annotated[float, Query(gt=0, lt=1)] = 0.9,
    max_size: Annotated[int, Query(ge=1, le=5)] = 3,
    min_support: Annotated[float, Query(gt=0, le=1, description="of the high group")] = 0.05,
    top_k: Annotated[int, Query(ge=1, le=500)] = 20,
    collapse: Annotated[bool, Query(description="abilities (true) or tokens")] = True,
):
    return await _heavy(
        state,
        lambda: contrastive_itemsets(
            r, feature_id, high_quantile, max_size, min_support, top_k, collapse
        ),
    )

"""Is an effect real? Split-half stability and shuffle nulls for a feature's sweeps, token
effects and explanation rules, and the within-family interference test on the model
(splat_core.investigate.validation, .rule_validation, .interference), in the heavy pool.
An unknown family, a bad rule or parameter is a 422; an unknown feature a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Query

from splat_core.investigate import (
    interference,
    validate_rule,
    validate_sweep,
    validate_token_effects,
)
from splat_core.query import UnknownFeatureError
from splat_server import errors, models
from splat_server.deps import ReaderDep, StateDep
from splat_server.models import PathId

router = APIRouter(prefix="/features", tags=["features"])

MAX_PERM = 2000  # shuffles one request may run: each is a pass over every sample
PERM = Query(200, ge=1, le=MAX_PERM, description="shuffles of the activations for the null")
SEED = Query(0, ge=0, le=2**32 - 1, description="seed of the halves and the shuffles")
MIN_N = Query(20, ge=1, le=10**9, description="samples a group needs in each half")
FAMILY = Query(..., min_length=1, max_length=64, description="family or main-only ability")


async def _heavy(state, fn: Callable[[], dict]):
    try:
        return await state.pool.run(fn)
    except UnknownFeatureError:
        raise
    except (KeyError, ValueError) as e:  # an unknown family, a bad rule
        return errors.invalid(str(e.args[0] if isinstance(e, KeyError) and e.args else e), "query")


@router.get(
    "/{feature_id}/validate/sweep",
    response_model=models.ValidateSweepOut,
    summary="A family sweep's deltas on two seeded halves, their agreement, and a shuffle "
    "null (p-value) for the peak delta and eta squared",
)
async def sweep(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    family: str = FAMILY,
    n_perm: int = PERM,
    seed: int = SEED,
    min_n: int = MIN_N,
):
    return await _heavy(state, lambda: validate_sweep(r, feature_id, family, n_perm, seed, min_n))


@router.get(
    "/{feature_id}/validate/tokens",
    response_model=models.ValidateTokensOut,
    summary="Token effects on two seeded halves (correlation, top-k overlap) and a "
    "permutation p-value per top item (uncorrected and Bonferroni)",
)
async def tokens(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    collapse: bool = Query(True, description="abilities (rungs collapsed), else tokens"),
    n_perm: int = PERM,
    seed: int = SEED,
    top_k: int = Query(10, ge=1, le=100),
    min_n: int = MIN_N,
):
    return await _heavy(
        state,
        lambda: validate_token_effects(r, feature_id, collapse, n_perm, seed, top_k, min_n),
    )


@router.get(
    "/{feature_id}/validate/rule",
    response_model=models.ValidateRuleOut,
    summary="An explanation rule's precision/recall/F1 on two seeded halves and a shuffle "
    "null for its F1",
)
async def rule(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    rule: str = Query(..., min_length=1, max_length=2000, description="e.g. 'ssu >= 21'"),
    n_perm: int = PERM,
    seed: int = SEED,
):
    return await _heavy(state, lambda: validate_rule(r, feature_id, rule, n_perm, seed))


@router.get(
    "/{feature_id}/validate/interference",
    response_model=models.InterferenceOut,
    response_model_exclude_unset=True,  # a main-only family's answer has only its reason
    summary="On the model: the activation with only the family's top rung removed, and with "
    "the whole family removed; the share the lower rungs carry",
)
async def interference_route(
    feature_id: PathId,
    r: ReaderDep,
    state: StateDep,
    family: str = FAMILY,
    n: int = Query(50, ge=1, le=1000, description="examples"),
    source: Literal["top", "core"] = "top",
    seed: int = SEED,
    n_perm: int = PERM,
):
    return await _heavy(state, lambda: interference(r, feature_id, family, n, source, seed, n_perm))

"""The seed server's endpoints, same paths and shapes: health, feature ids, a feature's
activation list (JSON or Arrow IPC stream), vocabularies. `limit` is the top-N by activation
and `sample_frac` a seeded, reproducible sample (the seed took the first N rows, unseeded)."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import pyarrow as pa
from fastapi import APIRouter, Depends, Query, Response

from splat_core.query import DamagedError, MissingAssetError, Reader, ipc_stream
from splat_server import models
from splat_server.answer_cache import AnswerCache
from splat_server.deps import ReaderDep, StateDep
from splat_server.models import PathId

router = APIRouter(tags=["seed"])

ARROW = "application/vnd.apache.arrow.stream"
LIMIT = Query(None, ge=0, le=10_000_000, description="keep the top-N rows by activation")
FRAC = Query(None, gt=0, le=1, description="a seeded random fraction of the rows, before limit")
SEED = Query(0, ge=0, le=2**32 - 1, description="seed of sample_frac")
ABILITIES = Query(True, description="include each sample's input token ids")


def list_params(
    limit: int | None = LIMIT,
    sample_frac: float | None = FRAC,
    seed: int = SEED,
    include_abilities: bool = ABILITIES,
) -> tuple:
    """The activation list's query parameters, in `Reader.activation_list` order."""
    return limit, sample_frac, seed, include_abilities


ListParams = Annotated[tuple, Depends(list_params)]


@router.get("/health", response_model=models.Health, summary="Liveness and what is loaded")
def health(r: ReaderDep, state: StateDep):
    uptime = time.monotonic() - state.started
    problem = None
    try:
        n_features, n_samples, nnz = r.n_features, r.n_samples, int(r.csc.nnz)
        status = "healthy"
    except MissingAssetError:
        n_features = n_samples = nnz = 0
        status = "no_data"
    except DamagedError as e:  # alive, but the store must not be served: say why
        n_features = n_samples = nnz = 0
        status, problem = "damaged", str(e)
    return models.Health(
        status=status,
        model_type="splat",
        n_features=n_features,
        n_samples=n_samples,
        nnz=nnz,
        uptime_seconds=round(uptime, 3),
        data_version=r.data_version,
        generation=r.generation,
        versions=r.versions,
        problem=problem,
    )


@router.get("/features", response_model=models.FeatureIds, summary="All feature ids")
def features(r: ReaderDep):
    return models.FeatureIds(feature_ids=r.feature_ids().tolist())


def _answer(cache: AnswerCache, r: Reader, kind: str, params: tuple, build) -> tuple:
    """(body, build ms, cache hit): large answers are kept in the byte-bounded answer cache,
    keyed by the data version they were read from."""
    timing = {"ms": 0.0}

    def timed_build():
        start = time.perf_counter()
        body = build()
        timing["ms"] = (time.perf_counter() - start) * 1000
        return body

    body, hit = cache.get_or_build((r.data_version, kind, *params), timed_build)
    return body, timing["ms"], hit


@router.get(
    "/activations/{feature_id}",
    response_model=models.Activations,
    summary="A feature's nonzero activations with weapon and tokens, highest first",
)
async def activations(feature_id: PathId, r: ReaderDep, state: StateDep, options: ListParams):
    params = (feature_id, *options)

    def build():
        start = time.perf_counter()
        table = r.activation_list(*params)
        names = table.column_names
        columns = [table.column(c).to_pylist() for c in names]
        return orjson.dumps({
            "feature_id": feature_id,
            "n_rows": table.num_rows,
            "columns": names,
            "data": [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)],
            "load_time_ms": round((time.perf_counter() - start) * 1000, 3),
            "data_version": r.data_version,
        })  # fmt: skip

    # serialized here: validating 10^5 row models would cost more than the read itself
    body, _, hit = await state.pool.run(lambda: _answer(state.cache, r, "json", params, build))
    headers = {"X-Cache-Hit": str(hit).lower()}
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/activations/{feature_id}/arrow",
    summary="The same rows as an Arrow IPC stream",
    response_class=Response,
    responses={200: {"content": {ARROW: {}}, "description": "Arrow IPC stream"}},
)
async def activations_arrow(feature_id: PathId, r: ReaderDep, state: StateDep, options: ListParams):
    params = (feature_id, *options)
    build = lambda: ipc_stream(r.activation_list(*params))  # noqa: E731
    body, ms, hit = await state.pool.run(lambda: _answer(state.cache, r, "arrow", params, build))
    headers = {
        "X-Feature-Id": str(feature_id),
        "X-Num-Rows": str(pa.ipc.open_stream(body).read_all().num_rows),  # zero-copy
        "X-Load-Time-Ms": f"{ms:.3f}",
        "X-Cache-Hit": str(hit).lower(),
    }
    return Response(body, media_type=ARROW, headers=headers)


@router.get("/context/vocab", response_model=models.Vocabularies, summary="Token and weapon ids")
def vocab(r: ReaderDep):
    v, w = r.vocabularies
    return models.Vocabularies(vocab=dict(v.token_to_id), weapon_vocab=dict(w.key_to_index))


@router.get("/context/inv_vocab", response_model=models.InverseVocabularies, summary="Ids to names")
def inv_vocab(r: ReaderDep):
    v, w = r.vocabularies
    return models.InverseVocabularies(
        inv_vocab={str(i): t for t, i in v.token_to_id.items()},
        inv_weapon_vocab={str(i): k for k, i in w.key_to_index.items()},
    )

"""The reference server's endpoints, same paths and wire format (splat_core/query/wire.py):
health, feature ids, a feature's activation list (JSON, or Arrow IPC file), vocabularies.
`limit` is the top-N by activation and `sample_frac` a seeded, reproducible sample (the
reference took the first N rows, unseeded); 0 means "all rows" for both, as there. An
unknown feature id is an empty list (200), as there. `shape=splat` adds `sample_id` in the
store's compact dtypes, `format=stream` gives an IPC stream; every answer's
`X-Splat-Data-Version` header names the data version it was read from."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import pyarrow as pa
from fastapi import APIRouter, Depends, Query, Response

from splat_core.query import DamagedError, MissingAssetError, Reader, UnknownFeatureError, wire
from splat_server import models
from splat_server.answer_cache import AnswerCache
from splat_server.deps import ReaderDep, StateDep
from splat_server.models import PathId

router = APIRouter(tags=["seed"])

ARROW = "application/vnd.apache.arrow.stream"  # the reference's media type, for both forms
LIMIT = Query(None, ge=0, le=10_000_000, description="keep the top-N rows by activation; 0: all")
FRAC = Query(None, ge=0, le=1, description="a seeded random fraction of the rows, before "
             "limit; 0: all")  # fmt: skip
SEED = Query(0, ge=0, le=2**32 - 1, description="seed of sample_frac")
ABILITIES = Query(True, description="include each sample's input token ids")
SHAPE = Query("reference", description="reference: the reference server's columns and dtypes; "
              "splat: sample_id first, compact dtypes")  # fmt: skip
FORMAT = Query("file", description="Arrow IPC file (the reference's; polars.read_ipc, "
               "pyarrow.ipc.open_file) or stream (pyarrow.ipc.open_stream)")  # fmt: skip


def list_params(
    limit: int | None = LIMIT,
    sample_frac: float | None = FRAC,
    seed: int = SEED,
    include_abilities: bool = ABILITIES,
    shape: Literal["reference", "splat"] = SHAPE,
) -> tuple:
    """The activation list's query parameters: `Reader.activation_list`'s, then the shape."""
    limit, sample_frac = wire.reference_params(limit, sample_frac)
    return limit, sample_frac, seed, include_abilities, shape


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
        sae=r.sae,
        saes=r.saes,
    )


@router.get("/features", response_model=models.FeatureIds, summary="All feature ids")
def features(r: ReaderDep):
    return models.FeatureIds(feature_ids=r.feature_ids().tolist())


def _answer(cache: AnswerCache, r: Reader, kind: str, params: tuple, build) -> tuple:
    """(body, build ms, cache hit): large answers are kept in the byte-bounded answer cache,
    keyed by the data version and SAE variant they were read from."""
    timing = {"ms": 0.0}

    def timed_build():
        start = time.perf_counter()
        body = build()
        timing["ms"] = (time.perf_counter() - start) * 1000
        return body

    body, hit = cache.get_or_build((r.data_version, r.sae, kind, *params), timed_build)
    return body, timing["ms"], hit


def _read(r: Reader, feature_id: int, options: tuple, tokens: bool) -> pa.Table:
    """The activation list as the store keeps it (activation_list.py), with the tokens if
    `tokens`; the reference answers an unknown id with an empty list."""
    limit, sample_frac, seed, *_ = options
    try:
        return r.activation_list(feature_id, limit, sample_frac, seed, tokens)
    except UnknownFeatureError:
        return wire.empty_list(tokens)


@router.get(
    "/activations/{feature_id}",
    response_model=models.Activations,
    summary="A feature's nonzero activations with weapon and tokens, highest first",
)
async def activations(feature_id: PathId, r: ReaderDep, state: StateDep, options: ListParams):
    *_, include_abilities, shape = options

    def build():
        start = time.perf_counter()
        # the reference's rows come from each sample's written tail: no token lists to read
        table = _read(r, feature_id, options, include_abilities and shape == "splat")
        tails = r.row_tails(include_abilities) if shape == "reference" else None
        ms = (time.perf_counter() - start) * 1000
        return wire.json_list(feature_id, table, shape, include_abilities, tails, ms)

    # serialized here: validating 10^5 row models would cost more than the read itself
    key = (feature_id, *options)
    body, _, hit = await state.pool.run(lambda: _answer(state.cache, r, "json", key, build))
    headers = {"X-Cache-Hit": str(hit).lower()}
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/activations/{feature_id}/arrow",
    summary="The same rows in Arrow IPC (the file format by default, as the reference's)",
    response_class=Response,
    responses={200: {"content": {ARROW: {}}, "description": "Arrow IPC file (or stream)"}},
)
async def activations_arrow(
    feature_id: PathId, r: ReaderDep, state: StateDep, options: ListParams,
    format: Literal["file", "stream"] = FORMAT,
):  # fmt: skip
    include_abilities, shape = options[-2:]
    table = lambda: wire.shaped(_read(r, feature_id, options, include_abilities), shape)  # noqa: E731
    build = lambda: wire.ipc_bytes(table(), format)  # noqa: E731
    key = (feature_id, *options, format)
    body, ms, hit = await state.pool.run(lambda: _answer(state.cache, r, "arrow", key, build))
    headers = {
        "X-Feature-Id": str(feature_id),
        "X-Num-Rows": str(wire.ipc_rows(body)),
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

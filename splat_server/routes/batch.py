"""Batch forms: several features in one request, where a client would otherwise loop."""

from __future__ import annotations

import pyarrow as pa
from fastapi import APIRouter, Response

from splat_core.query import wire
from splat_core.query.summary import feature_parts
from splat_server import models
from splat_server.deps import LabelsDep, ReaderDep, StateDep
from splat_server.errors import TooExpensive
from splat_server.limits import MAX_BATCH_ROWS
from splat_server.routes.features import label_dict
from splat_server.routes.seed import ARROW

router = APIRouter(prefix="/batch", tags=["batch"])


@router.post(
    "/features",
    response_model=models.BatchOut,
    summary="The chosen parts of several features' summaries",
)
async def features(body: models.BatchIn, r: ReaderDep, store: LabelsDep, state: StateDep):
    def build():
        label = lambda g: label_dict(store, g)  # noqa: E731
        return [feature_parts(r, f, body.parts, body.top_k, body.examples, label=label)
                for f in body.feature_ids]  # fmt: skip

    return {"features": await state.pool.run(build), "data_version": r.data_version}


@router.post(
    "/activations/arrow",
    response_class=Response,
    responses={200: {"content": {ARROW: {}}, "description": "Arrow IPC stream"}},
    summary="Top-N activation rows of several features in one Arrow stream (+ feature_id)",
)
async def activations(body: models.BatchActivationsIn, r: ReaderDep, state: StateDep):
    counts = r.feature_counts()
    ids = [r.check_feature(f) for f in body.feature_ids]
    limit = body.limit if body.limit is not None else int(counts.max(initial=0))
    rows = sum(min(int(counts[f]), limit) for f in ids)
    if rows > MAX_BATCH_ROWS:
        raise TooExpensive(f"these features hold {rows:,} rows; at most {MAX_BATCH_ROWS:,} "
                           "per request: lower `limit` or split the request")  # fmt: skip

    def build():
        tables = []
        for f in ids:
            t = r.activation_list(f, body.limit, None, 0, body.include_abilities)
            column = pa.array([f] * t.num_rows, pa.int32())
            tables.append(t.add_column(0, "feature_id", column))
        return wire.ipc_bytes(pa.concat_tables(tables), "stream")

    return Response(await state.pool.run(build), media_type=ARROW)

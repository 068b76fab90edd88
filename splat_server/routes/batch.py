"""Batch forms: several features in one request, where a client would otherwise loop."""

from __future__ import annotations

import pyarrow as pa
from fastapi import APIRouter, Response

from splat_core.query import ipc_stream
from splat_core.query.summary import feature_parts
from splat_server import models
from splat_server.deps import LabelsDep, ReaderDep
from splat_server.routes.features import label_dict
from splat_server.routes.seed import ARROW

router = APIRouter(prefix="/batch", tags=["batch"])


@router.post(
    "/features",
    response_model=models.BatchOut,
    summary="The chosen parts of several features' summaries",
)
def features(body: models.BatchIn, r: ReaderDep, store: LabelsDep):
    out = [
        feature_parts(
            r, f, body.parts, body.top_k, body.examples, label=lambda g: label_dict(store, g)
        )
        for f in body.feature_ids
    ]
    return {"features": out, "data_version": r.data_version}


@router.post(
    "/activations/arrow",
    response_class=Response,
    responses={200: {"content": {ARROW: {}}, "description": "Arrow IPC stream"}},
    summary="Top-N activation rows of several features in one Arrow stream (+ feature_id)",
)
def activations(body: models.BatchActivationsIn, r: ReaderDep):
    tables = []
    for f in body.feature_ids:
        t = r.activation_list(f, body.limit, None, 0, body.include_abilities)
        column = pa.array([f] * t.num_rows, pa.int32())
        tables.append(t.add_column(0, "feature_id", column))
    return Response(ipc_stream(pa.concat_tables(tables)), media_type=ARROW)

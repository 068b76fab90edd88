"""The FastAPI activation API, `splat_server.app:app`, over the materialized SPLAT_HOME.

Cheap handlers are plain functions, so FastAPI runs them in its thread pool; heavy ones hand
their work to the bounded heavy pool (limits.py): the event loop never blocks on disk or
model work, and heavy load cannot starve cheap reads. Each request reads one snapshot of the
home (`deps.ReaderDep`), named in the `X-Splat-Data-Version` header; `guard.py` bounds
headers and bodies before any route runs."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from splat_server import docs_pages, errors, models
from splat_server.guard import Guard
from splat_server.routes import (
    batch,
    causal,
    compare,
    features,
    labels,
    saes,
    samples,
    seed,
    steer,
    validation,
)
from splat_server.security import require_token_if_public
from splat_server.settings import ServerSettings
from splat_server.state import ServerState

ERRORS = {
    401: {"model": models.Error, "description": "token missing or wrong (public bind, writes)"},
    403: {"model": models.Error, "description": "writes disabled: no SPLAT_API_TOKEN set"},
    404: {"model": models.Error, "description": "unknown feature, sample, token or SAE variant"},
    408: {"model": models.Error, "description": "request body not received in time"},
    409: {"model": models.Error, "description": "label version conflict"},
    413: {"model": models.Error, "description": "request body over 16 MiB"},
    431: {"model": models.Error, "description": "request headers over 16 KiB"},
    503: {
        "model": models.Error,
        "description": "an asset the answer needs is not materialized, "
        "or the heavy-request pool is full (see Retry-After)",
    },
}

DESCRIPTION = """\
Activations, analysis tables, labels and model interventions of a materialized splat home.

The reference server's endpoints keep its paths and wire format (`/health`, `/features`,
`/activations/{id}`, `/activations/{id}/arrow`, `/context/*`): the Arrow answer is an IPC
*file* (`polars.read_ipc`, `pyarrow.ipc.open_file`; `format=stream` for an IPC stream), with
its columns and dtypes (`shape=splat` adds `sample_id` in compact dtypes); `limit` is the
top-N by activation, and `limit=0` or `sample_frac=0` mean all rows; an unknown feature id
is an empty list there, as in the reference. Elsewhere unknown ids answer 404, bad
parameters 422, assets not yet materialized 503; heavy requests
(batches, model runs, whole activation lists) share a bounded pool and are refused with 503
and `Retry-After` when it is full. A home may hold several SAEs trained on the same vectors
(`GET /saes`): every route that reads one takes `sae=<variant>` (default: the default
variant; labels are per variant). Writes need
`Authorization: Bearer $SPLAT_API_TOKEN`; so does every request when the server listens beyond
loopback."""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings.from_env()
    app = FastAPI(
        title="splat activation API",
        version="1.0.0",
        description=DESCRIPTION,
        dependencies=[Depends(require_token_if_public)],
        docs_url=None,  # served from installed assets, not a CDN: docs_pages.py
        redoc_url=None,
    )
    docs_pages.install(app)
    app.state.splat = ServerState.create(settings)
    errors.install(app)
    routers = (seed, saes, features, compare, causal, validation, samples, steer, labels, batch)
    for module in routers:
        app.include_router(module.router, responses=ERRORS)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )  # fmt: skip
    app.add_middleware(Guard)
    return app


app = create_app()

"""The FastAPI activation API, `splat_server.app:app`, over the materialized SPLAT_HOME.

Handlers are plain functions, so FastAPI runs them in its thread pool and the event loop never
blocks on disk or model work. Each request reads one snapshot of the home (see `state.reader`),
named in the `X-Splat-Data-Version` header."""

from __future__ import annotations

import json

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from splat_server import errors, models
from splat_server.routes import batch, features, labels, samples, seed
from splat_server.security import require_token_if_public
from splat_server.settings import ServerSettings
from splat_server.state import ServerState

MAX_BODY_BYTES = 16 << 20
ERRORS = {
    401: {"model": models.Error, "description": "token missing or wrong (public bind, writes)"},
    403: {"model": models.Error, "description": "writes disabled: no SPLAT_API_TOKEN set"},
    404: {"model": models.Error, "description": "unknown feature, sample or token"},
    409: {"model": models.Error, "description": "label version conflict"},
    413: {"model": models.Error, "description": "request body over 16 MiB"},
    503: {"model": models.Error, "description": "an asset the answer needs is not materialized"},
}

DESCRIPTION = """\
Activations, analysis tables, labels and model interventions of a materialized splat home.

The seed's endpoints keep their paths and shapes (`/health`, `/features`, `/activations/{id}`,
`/activations/{id}/arrow`, `/context/*`), with `limit` meaning the top-N by activation.
Unknown ids answer 404, bad parameters 422, assets not yet materialized 503. Writes need
`Authorization: Bearer $SPLAT_API_TOKEN`; so does every request when the server listens beyond
loopback."""


class _Guard:
    """Pure ASGI middleware: refuse bodies over MAX_BODY_BYTES (413) or of unknown length
    (411), and name the data version
    each response was read from."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" in headers:
            return await _refuse(send, 411, "send a Content-Length (streamed bodies are refused)")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return await _refuse(send, 413, "request body too large (at most 16 MiB)")

        async def send_with_version(message):
            if message["type"] == "http.response.start":
                version = scope.get("state", {}).get("data_version")
                if version:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-splat-data-version", version.encode()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_version)


async def _refuse(send, status: int, detail: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings.from_env()
    app = FastAPI(
        title="splat activation API",
        version="1.0.0",
        description=DESCRIPTION,
        dependencies=[Depends(require_token_if_public)],
    )
    app.state.splat = ServerState.create(settings)
    errors.install(app)
    for module in (seed, features, samples, labels, batch):
        app.include_router(module.router, responses=ERRORS)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )  # fmt: skip
    app.add_middleware(_Guard)
    return app


app = create_app()

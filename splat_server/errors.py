"""Exceptions of the core, mapped to HTTP: unknown ids and SAE variants 404 (a variant's
names the variants served, `saes`), bad values (a rule that does not
parse too) and over-expensive requests 422, missing data and a full heavy pool 503 (with
Retry-After), label version conflicts 409, a damaged file 500 with a body naming asset,
version and file. Storage that cannot be used (a full disk, a busy or broken label database)
is 503 with Retry-After; anything else is a server bug: 500, still with a JSON body (the
traceback goes to the log). No body names a local path."""

from __future__ import annotations

import math
import sqlite3

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from splat_core.explain.rules import RuleError
from splat_core.labels import LabelConflict, LabelError
from splat_core.query import (
    DamagedError,
    MissingAssetError,
    UnknownFeatureError,
    UnknownSAEError,
    UnknownSampleError,
)
from splat_server.limits import Overloaded


class TooExpensive(ValueError):
    """A request whose cost exceeds its bound (limits.py): a 422 that says how to split it."""


class BadBuildError(ValueError):
    """A build the model cannot take: unknown weapon or ability, illegal AP."""


class UnknownNameError(KeyError):
    """An unknown token or weapon named in a path."""

    def __str__(self) -> str:
        return str(self.args[0])


STORAGE_RETRY_S = 5


def _detail(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def invalid_body(message: str, where: str = "body") -> dict:
    """A 422 body in FastAPI's own validation-error shape, so clients parse every 422 alike."""
    return {"detail": [{"loc": [where], "msg": message, "type": "value_error"}]}


def invalid(message: str, where: str = "body") -> JSONResponse:
    return JSONResponse(invalid_body(message, where), status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(UnknownFeatureError)
    @app.exception_handler(UnknownSampleError)
    @app.exception_handler(UnknownNameError)
    async def not_found(_request: Request, exc: KeyError):
        return _detail(404, str(exc))

    @app.exception_handler(UnknownSAEError)
    async def unknown_sae(_request: Request, exc: UnknownSAEError):
        return _detail(404, str(exc), saes=exc.known)

    @app.exception_handler(MissingAssetError)
    async def missing(_request: Request, exc: MissingAssetError):
        # never the home's path: that is this machine's business, not the client's
        return _detail(503, f"{exc.asset} is not materialized on this server", asset=exc.asset)

    @app.exception_handler(DamagedError)
    async def damaged(_request: Request, exc: DamagedError):
        # never numbers from a damaged file: say which file of which version, not where
        return _detail(500, f"damaged data: {exc}", asset=exc.asset, version=exc.version,
                       file=exc.file)  # fmt: skip

    @app.exception_handler(Overloaded)
    async def overloaded(_request: Request, exc: Overloaded):
        response = _detail(503, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(LabelConflict)
    async def conflict(_request: Request, exc: LabelConflict):
        current = exc.current.to_dict() if exc.current is not None else None
        return _detail(409, str(exc), current=current)

    @app.exception_handler(LabelError)
    async def bad_label(_request: Request, exc: LabelError):
        return invalid(str(exc))

    @app.exception_handler(BadBuildError)
    @app.exception_handler(TooExpensive)
    @app.exception_handler(RuleError)
    async def bad_value(_request: Request, exc: ValueError):
        return invalid(str(exc))

    _install_fallbacks(app)


def storage_unavailable(exc: OSError | sqlite3.Error) -> JSONResponse:
    # strerror / sqlite's message: never the file name an OSError carries
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    response = _detail(503, f"storage unavailable: {reason}")
    response.headers["Retry-After"] = str(STORAGE_RETRY_S)
    return response


def _install_fallbacks(app: FastAPI) -> None:
    """Handlers are chosen by the exception's class hierarchy: these catch only what no
    specific handler above does."""

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def storage(_request: Request, exc: OSError | sqlite3.Error):
        return storage_unavailable(exc)

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception):
        return _detail(500, f"internal error ({type(exc).__name__}); see the server's log")


def _finite(value):
    """The validation errors with non-finite floats written as text (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

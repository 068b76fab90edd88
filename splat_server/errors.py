"""Exceptions of the core, mapped to HTTP: unknown ids 404, bad values 422, missing data 503,
label version conflicts 409. Anything else is a server bug and stays a 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from splat_core.labels import LabelConflict, LabelError
from splat_core.query import MissingAssetError, UnknownFeatureError, UnknownSampleError


class BadBuildError(ValueError):
    """A build the model cannot take: unknown weapon or ability, illegal AP."""


class UnknownNameError(KeyError):
    """An unknown token or weapon named in a path."""

    def __str__(self) -> str:
        return str(self.args[0])


def _detail(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def invalid(message: str, where: str = "body") -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, so clients parse every 422 alike."""
    item = {"loc": [where], "msg": message, "type": "value_error"}
    return JSONResponse({"detail": [item]}, status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(UnknownFeatureError)
    @app.exception_handler(UnknownSampleError)
    @app.exception_handler(UnknownNameError)
    async def not_found(_request: Request, exc: KeyError):
        return _detail(404, str(exc))

    @app.exception_handler(MissingAssetError)
    async def missing(_request: Request, exc: MissingAssetError):
        return _detail(503, str(exc), asset=exc.asset)

    @app.exception_handler(LabelConflict)
    async def conflict(_request: Request, exc: LabelConflict):
        current = exc.current.to_dict() if exc.current is not None else None
        return _detail(409, str(exc), current=current)

    @app.exception_handler(LabelError)
    async def bad_label(_request: Request, exc: LabelError):
        return invalid(str(exc))

    @app.exception_handler(BadBuildError)
    async def bad_build(_request: Request, exc: BadBuildError):
        return invalid(str(exc))

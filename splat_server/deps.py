"""The API's dependencies as `Annotated` aliases: what the app holds, the request's one
snapshot of the home, the label store, and the bearer credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from splat_core.labels import LabelStore
from splat_core.query import Reader
from splat_server.state import ServerState

bearer = HTTPBearer(auto_error=False, description="SPLAT_API_TOKEN")


def get_state(request: Request) -> ServerState:
    return request.app.state.splat


def get_reader(request: Request) -> Reader:
    """The request's one snapshot: every read of this request comes from these versions,
    named in the response's X-Splat-Data-Version header."""
    snapshot = get_state(request).live.get()
    request.scope.setdefault("state", {})["data_version"] = snapshot.data_version
    return snapshot


def get_labels(request: Request) -> LabelStore:
    return get_state(request).labels


StateDep = Annotated[ServerState, Depends(get_state)]
ReaderDep = Annotated[Reader, Depends(get_reader)]
LabelsDep = Annotated[LabelStore, Depends(get_labels)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

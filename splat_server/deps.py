"""The API's dependencies as `Annotated` aliases: what the app holds, the request's one
snapshot of the home (of the SAE variant its `sae` query parameter names), the variant's
label store, and the bearer credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from splat_core.labels import LabelStore
from splat_core.query import Reader
from splat_core.store.contract import DEFAULT_SAE
from splat_server.state import ServerState

bearer = HTTPBearer(auto_error=False, description="SPLAT_API_TOKEN")
SAE = Query(
    None, max_length=40,
    description="the SAE variant to read (GET /saes lists them); default: the default one",
)  # fmt: skip


def get_state(request: Request) -> ServerState:
    return request.app.state.splat


def get_sae(request: Request, sae: str | None = SAE) -> str:
    """The variant the request names, checked: 404 (UnknownSAEError) unless the served
    generation holds it."""
    sae = sae or DEFAULT_SAE
    get_state(request).live.get(sae)
    return sae


SaeDep = Annotated[str, Depends(get_sae)]


def get_reader(request: Request, sae: SaeDep) -> Reader:
    """The request's one snapshot: every read of this request comes from these versions,
    named in the response's X-Splat-Data-Version header."""
    snapshot = get_state(request).live.get(sae)
    request.scope.setdefault("state", {})["data_version"] = snapshot.data_version
    return snapshot


def get_labels(request: Request, sae: SaeDep) -> LabelStore:
    return get_state(request).labels(sae)


StateDep = Annotated[ServerState, Depends(get_state)]
ReaderDep = Annotated[Reader, Depends(get_reader)]
LabelsDep = Annotated[LabelStore, Depends(get_labels)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

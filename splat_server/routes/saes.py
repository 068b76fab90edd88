"""The SAE variants the served generation holds (store/variants.py): each one's shape and
quality, read from its sae version."""

from __future__ import annotations

from fastapi import APIRouter

from splat_core.store import variants
from splat_core.store.contract import DEFAULT_SAE
from splat_server import models
from splat_server.deps import StateDep

router = APIRouter(tags=["saes"])


@router.get("/saes", response_model=models.Saes, summary="The SAE variants served")
def saes(state: StateDep):
    live = state.live
    defined = variants.defined(live.home)
    out = []
    for name in live.saes:
        info = live.get(name).sae_info()
        out.append({**info, "settings": list(defined.get(name, ()))})
    return {"default": DEFAULT_SAE, "saes": out}

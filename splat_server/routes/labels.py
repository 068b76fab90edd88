"""Feature labels: read freely, write with the token. Writes are transactional in the label
store; `expected_version` turns a write into compare-and-set (409 on a lost race). A label's
rule is scored when written and rescored when read on a new generation (label_scores)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query

from splat_core.investigate.label_scores import current_label, score_fields
from splat_core.query import MissingAssetError, Reader, UnknownFeatureError
from splat_server import models
from splat_server.deps import LabelsDep, ReaderDep
from splat_server.models import PathId
from splat_server.security import require_writer

router = APIRouter(prefix="/labels", tags=["labels"])
WRITE = [Depends(require_writer)]


def _known(r: Reader, feature_id: int) -> int:
    """A feature of the current store; any id >= 0 while no store is materialized."""
    try:
        return r.check_feature(feature_id)
    except MissingAssetError:
        if feature_id < 0:
            raise UnknownFeatureError(feature_id) from None
        return feature_id


@router.get("", response_model=list[models.LabelOut], summary="All labels, or a text search")
def all_labels(
    store: LabelsDep,
    q: str | None = Query(None, max_length=200, description="substring of name or notes"),
    limit: int = Query(1000, ge=1, le=100_000),
):
    found = store.all() if q is None else store.search(q, limit=limit)
    return [label.to_dict() for label in found[:limit]]


@router.get("/export/consolidated", summary="All labels in the reference's consolidated layout")
def export_consolidated(
    store: LabelsDep,
    model_type: str = Query("splat", max_length=50),
) -> dict[str, dict]:
    return store.export_consolidated(model_type)


@router.post(
    "/import/consolidated",
    response_model=models.ImportResult,
    dependencies=WRITE,
    summary="Import a reference consolidated_{model}.json (all or nothing)",
)
def import_consolidated(r: ReaderDep, store: LabelsDep, body: dict[str, dict] = Body()):
    """All or nothing; feature ids outside the store are refused (as `splat labels import`)."""
    try:
        n_features = r.n_features
    except MissingAssetError:
        n_features = None  # no store yet: ids are checked when one is materialized
    return {"imported": store.import_consolidated(body, n_features=n_features)}


@router.get(
    "/{feature_id}",
    response_model=models.LabelOut | None,
    summary="A feature's label (null if none)",
)
def get_label(feature_id: PathId, r: ReaderDep, store: LabelsDep):
    label = current_label(store, r, _known(r, feature_id))
    return None if label is None else label.to_dict()


@router.get("/{feature_id}/history", summary="Every write of a feature's label, oldest first")
def history(feature_id: PathId, r: ReaderDep, store: LabelsDep) -> list[dict]:
    return store.history(_known(r, feature_id))


@router.put(
    "/{feature_id}",
    response_model=models.LabelOut,
    dependencies=WRITE,
    summary="Create or update a feature's label",
)
def put_label(feature_id: PathId, body: models.LabelIn, r: ReaderDep, store: LabelsDep):
    fields = body.model_dump()
    expected = fields.pop("expected_version")
    f = _known(r, feature_id)
    label = store.set(f, expected_version=expected, **score_fields(r, f, fields))
    return label.to_dict()


@router.delete("/{feature_id}", dependencies=WRITE, summary="Delete a feature's label")
def delete_label(
    feature_id: PathId,
    r: ReaderDep,
    store: LabelsDep,
    expected_version: int | None = Query(None, ge=1),
) -> dict[str, bool]:
    return {"deleted": store.delete(_known(r, feature_id), expected_version)}

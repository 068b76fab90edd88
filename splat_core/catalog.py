"""Where each materialized asset lives under SPLAT_HOME: versioned, atomically published.

Layout: `<home>/<asset>[/<partition>]/<version>/...` holds one materialization, and
`<home>/<asset>[/<partition>]/CURRENT.json` names the current version and its metadata.
A writer fills a staging directory, renames it to a new version, then replaces CURRENT.json
(one atomic rename each), so a reader that resolved a version keeps a consistent view and
never sees a half-written one; an interrupted write leaves the previous version current.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from splat_core.storage import atomic_file

CURRENT = "CURRENT.json"
KEEP_VERSIONS = 2  # the current one and its predecessor, for readers still on it


def asset_root(home: Path, asset: str, partition: str | None = None) -> Path:
    root = Path(home) / asset
    return root / partition if partition is not None else root


def new_staging_dir(home: Path, asset: str, partition: str | None = None) -> Path:
    root = asset_root(home, asset, partition)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def publish(
    home: Path, asset: str, staging: Path, metadata: dict, partition: str | None = None
) -> Path:
    """Make `staging` the current version of the asset (partition); returns its directory."""
    root = asset_root(home, asset, partition)
    version = f"v{time.time_ns()}-{uuid.uuid4().hex[:6]}"
    final = root / version
    os.replace(staging, final)
    pointer = {"version": version, "published_at": time.time(), "metadata": metadata}
    with atomic_file(root / CURRENT) as tmp:
        tmp.write_text(json.dumps(pointer, indent=2, default=str) + "\n")
    _prune(root, keep={version})
    return final


@contextmanager
def staged(home: Path, asset: str, partition: str | None = None) -> Iterator[Path]:
    """A staging directory that is removed if the block fails."""
    staging = new_staging_dir(home, asset, partition)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish_asset(
    home: Path, asset: str, write: Callable[[Path], dict], partition: str | None = None
) -> dict:
    """Run `write(staging_dir) -> metadata` and publish the result."""
    with staged(home, asset, partition) as staging:
        metadata = write(staging)
    publish(home, asset, staging, metadata, partition)
    return metadata


def current_pointer(home: Path, asset: str, partition: str | None = None) -> dict | None:
    file = asset_root(home, asset, partition) / CURRENT
    if not file.exists():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def current_path(home: Path, asset: str, partition: str | None = None) -> Path:
    """The current version's directory; FileNotFoundError if never materialized."""
    pointer = current_pointer(home, asset, partition)
    if pointer is None:
        where = f"{asset}[{partition}]" if partition is not None else asset
        raise FileNotFoundError(f"asset {where} is not materialized under {home}")
    return asset_root(home, asset, partition) / pointer["version"]


def read_catalog(home: Path) -> dict[str, dict]:
    """`splat info --json`: {asset: {"path", "metadata"}} or {asset: {"partitions": {...}}}."""
    home = Path(home)
    out: dict[str, dict] = {}
    if not home.is_dir():
        return out
    for pointer_file in sorted(home.glob(f"*/{CURRENT}")):
        asset = pointer_file.parent.name
        out[asset] = _entry(pointer_file)
    for pointer_file in sorted(home.glob(f"*/*/{CURRENT}")):
        asset, partition = pointer_file.parent.parent.name, pointer_file.parent.name
        out.setdefault(asset, {}).setdefault("partitions", {})[partition] = _entry(pointer_file)
    return out


def _entry(pointer_file: Path) -> dict:
    pointer = json.loads(pointer_file.read_text(encoding="utf-8"))
    return {
        "path": str((pointer_file.parent / pointer["version"]).resolve()),
        "version": pointer["version"],
        "metadata": pointer["metadata"],
    }


def _prune(root: Path, keep: set[str]) -> None:
    versions = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")),
        key=lambda p: p.name,
    )
    for old in versions[:-KEEP_VERSIONS]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)

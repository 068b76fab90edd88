"""Where each materialized asset lives under SPLAT_HOME: versioned, atomically published.

Layout: `<home>/<asset>[/<partition>]/<version>/...` holds one materialization, and
`<home>/<asset>[/<partition>]/CURRENT.json` names the current version and its metadata.
A writer fills a staging directory, renames it to a new version, then replaces CURRENT.json
(one atomic rename each), so a reader that resolved a version keeps a consistent view and
never sees a half-written one; an interrupted write leaves the previous version current.

The home may be an fsspec URL (`s3://bucket/prefix`, see splat_core/store/homes.py). Then the same
layout lives in the object store and computation stays on local files: the staging
directory is made in the home's local cache, `publish` uploads it as
`<url>/<asset>[/<partition>]/<version>/` and only then PUTs `CURRENT.json` (atomic for a
single object), and `current_path` returns a local copy of the current version, fetched into
the cache on first use. Version directories are never rewritten, so cached copies never go
stale; a failed upload leaves the previous version current.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from splat_core.atomic import atomic_file
from splat_core.store import homes
from splat_core.store.homes import HomeLike

CURRENT = "CURRENT.json"
VERSION_NAME = re.compile(r"^v\d+-[0-9a-f]{6}$")
KEEP_VERSIONS = 2  # the current one and its predecessor, for readers still on it


def asset_root(home: HomeLike, asset: str, partition: str | None = None) -> Path | str:
    """The asset (partition)'s directory: a Path under a local home, a URL under a remote."""
    return homes.join(home, *_parts(asset, partition))


def _parts(asset: str, partition: str | None) -> list[str]:
    return [asset] if partition is None else [asset, partition]


def _local_root(home: HomeLike, asset: str, partition: str | None) -> Path:
    """The asset (partition)'s directory on this machine (the cache, for a remote home)."""
    return homes.local_dir(home).joinpath(*_parts(asset, partition))


def new_staging_dir(
    home: HomeLike, asset: str, partition: str | None = None, prefix: str = ".staging-"
) -> Path:
    root = _local_root(home, asset, partition)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"{prefix}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def new_version() -> str:
    return f"v{time.time_ns()}-{uuid.uuid4().hex[:6]}"


def install(
    home: HomeLike, asset: str, staging: Path, version: str, pointer: dict,
    partition: str | None = None, keep: set[str] = frozenset(),
) -> Path | str:  # fmt: skip
    """Make `staging` version `version` of the asset (partition) and point CURRENT.json at
    it (`pointer`: metadata and lineage); prune versions older than the newest KEEP_VERSIONS
    unless `keep` names them. Returns the version's directory (a URL under a remote home,
    with the local copy kept in the cache)."""
    text = _pointer_text(version, pointer)
    if homes.is_remote(home):
        return _install_remote(home, asset, Path(staging), version, text, partition, keep)
    root = asset_root(home, asset, partition)
    final = root / version
    os.replace(staging, final)
    with atomic_file(root / CURRENT) as tmp:
        tmp.write_text(text)
    _prune(root, keep={version, *keep})
    return final


def _pointer_text(version: str, pointer: dict) -> str:
    pointer = {"version": version, "published_at": time.time(), **pointer}
    return json.dumps(pointer, indent=2, default=str) + "\n"


def _install_remote(
    home: HomeLike, asset: str, staging: Path, version: str, text: str, partition, keep
) -> str:
    url = asset_root(home, asset, partition)
    target = f"{url}/{version}"
    try:
        homes.upload_dir(staging, target)
    except BaseException as e:
        _remove_remote(target)  # nothing names it yet: the previous version stays current
        shutil.rmtree(staging, ignore_errors=True)
        missing = _bucket_error(url)
        if missing is not None:
            raise missing from e
        raise
    # Only now is the version complete; one PUT of CURRENT.json switches readers to it. If
    # this PUT fails the version stays as an orphan (pruned later), never half-current.
    fs, root = homes.filesystem(url)
    try:
        fs.pipe_file(f"{root}/{CURRENT}", text.encode())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    local_root = _local_root(home, asset, partition)
    os.replace(staging, local_root / version)  # the cache holds exactly what was uploaded
    _prune_remote(url, keep={version, *keep})
    _prune(local_root, keep={version, *keep})
    return target


# --- files at the home's root: the served generation and its history -----------------------


def read_home_file(home: HomeLike, name: str) -> str | None:
    if homes.is_remote(home):
        fs, root = homes.filesystem(homes.join(home, name))
        try:
            return fs.cat_file(root).decode("utf-8")
        except FileNotFoundError:
            return None
    file = Path(homes.join(home, name))
    return file.read_text(encoding="utf-8") if file.exists() else None


def write_home_file(home: HomeLike, name: str, text: str) -> None:
    """Replace a file under the home in one step (a rename; one PUT under a remote home)."""
    if homes.is_remote(home):
        fs, root = homes.filesystem(homes.join(home, name))
        fs.pipe_file(root, text.encode())
        return
    with atomic_file(Path(homes.join(home, name))) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_home_file(home: HomeLike, name: str) -> None:
    if homes.is_remote(home):
        _remove_remote(homes.join(home, name))
    else:
        Path(homes.join(home, name)).unlink(missing_ok=True)


def list_home_dir(home: HomeLike, name: str) -> list[str]:
    """The names of the files in a directory under the home ([] if there is none)."""
    if homes.is_remote(home):
        fs, root = homes.filesystem(homes.join(home, name))
        fs.invalidate_cache(root)
        return [n for n, is_dir in _listing(fs, root) if not is_dir]
    folder = Path(homes.join(home, name))
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def current_pointer(home: HomeLike, asset: str, partition: str | None = None) -> dict | None:
    if homes.is_remote(home):
        url = asset_root(home, asset, partition)
        fs, root = homes.filesystem(url)
        try:
            raw = fs.cat_file(f"{root}/{CURRENT}")
        except FileNotFoundError:
            missing = _bucket_error(url)
            if missing is not None:
                raise missing from None
            return None
        return json.loads(raw)
    file = asset_root(home, asset, partition) / CURRENT
    if not file.exists():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def current_path(home: HomeLike, asset: str, partition: str | None = None) -> Path:
    """The current version's directory on local disk (under a remote home, its copy in the
    cache, fetched on first use); FileNotFoundError if never materialized."""
    pointer = current_pointer(home, asset, partition)
    if pointer is None:
        where = f"{asset}[{partition}]" if partition is not None else asset
        raise FileNotFoundError(f"asset {where} is not materialized under {home}")
    return version_path(home, asset, pointer["version"], partition)


def version_path(home: HomeLike, asset: str, version: str, partition: str | None = None) -> Path:
    """A version's directory on local disk: where it is under a local home; its copy in the
    cache under a remote one (the whole version, downloaded on first use)."""
    if not homes.is_remote(home):
        return asset_root(home, asset, partition) / version
    return _fetch(f"{asset_root(home, asset, partition)}/{version}",
                  _local_root(home, asset, partition) / version)  # fmt: skip


def local_path(home: HomeLike, location: str | Path) -> Path:
    """The local directory of a version `read_catalog` listed at `location` (a path under a
    local home, a URL under a remote one, fetched into the cache on first use)."""
    if not homes.is_remote(home):
        return Path(location)
    url = str(homes.normalize(home))
    location = str(location)
    if not location.startswith(url + "/"):
        raise ValueError(f"{location} is not under the home {url}")
    return _fetch(location, homes.local_dir(url) / location[len(url) + 1 :])


def _fetch(url: str, final: Path) -> Path:
    if final.is_dir():
        return final
    homes.fetch_dir(url, final)
    _prune(final.parent, keep={final.name})  # the cache keeps as many versions as the home
    return final


def read_catalog(home: HomeLike) -> dict[str, dict]:
    """`splat info --json`: {asset: {"path", "metadata"}} or {asset: {"partitions": {...}}}.

    Under a remote home each "path" is the version's URL (`local_path` gives a local copy)."""
    if homes.is_remote(home):
        return _read_remote_catalog(str(homes.normalize(home)))
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
    return {"path": str((pointer_file.parent / pointer["version"]).resolve()), **_lineage(pointer)}


def _lineage(pointer: dict) -> dict:
    """The catalog entry's fields of a pointer: version, metadata, and the lineage
    (fingerprint, inputs, config, code) of versions published with it."""
    keep = ("version", "metadata", "fingerprint", "inputs", "config", "code")
    return {k: pointer[k] for k in keep if k in pointer}


def _read_remote_catalog(url: str) -> dict[str, dict]:
    """One listing of the home and one of each asset, then one GET per CURRENT.json."""
    fs, root = homes.filesystem(url)
    root = root.rstrip("/")
    fs.invalidate_cache()  # listings are cached per filesystem; new versions must show up
    pointers: list[tuple[str, str | None, str]] = []  # (asset, partition, CURRENT.json)
    for asset, is_dir in _listing(fs, root):
        if not is_dir:
            continue
        for name, sub_is_dir in _listing(fs, f"{root}/{asset}"):
            if name == CURRENT and not sub_is_dir:
                pointers.append((asset, None, f"{root}/{asset}/{CURRENT}"))
            elif sub_is_dir and not VERSION_NAME.match(name):
                pointers.append((asset, name, f"{root}/{asset}/{name}/{CURRENT}"))
    if not pointers:
        missing = _bucket_error(url)
        if missing is not None:
            raise missing
        return {}
    blobs = fs.cat([file for *_, file in pointers], on_error="omit")
    out: dict[str, dict] = {}
    # unpartitioned assets first, then partitioned ones: the order of the local catalog
    for asset, partition, file in sorted(pointers, key=lambda p: (p[1] is not None, p[2])):
        if file not in blobs:  # a partition directory without a current version
            continue
        pointer = json.loads(blobs[file])
        parts = [asset] if partition is None else [asset, partition]
        entry = {"path": "/".join([url, *parts, pointer["version"]]), **_lineage(pointer)}
        if partition is None:
            out[asset] = entry
        else:
            out.setdefault(asset, {}).setdefault("partitions", {})[partition] = entry
    return out


def _listing(fs, path: str) -> list[tuple[str, bool]]:
    """(name, is a directory) of each entry under `path`, sorted; [] if there is none."""
    try:
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    names = {(e["name"].rstrip("/").rsplit("/", 1)[-1], e["type"] == "directory") for e in entries}
    return sorted(names)


def _bucket_error(url: str) -> FileNotFoundError | None:
    try:
        return homes.bucket_error(url)
    except Exception:  # the original error says more than a failed second look
        return None


def _remove_remote(url: str) -> None:
    try:
        fs, root = homes.filesystem(url)
        fs.rm(root, recursive=True)
    except Exception:  # best effort: an unreferenced partial version is only garbage
        pass


def _prune_remote(url: str, keep: set[str]) -> None:
    fs, root = homes.filesystem(url)
    fs.invalidate_cache()
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))
    versions = [n for n in names if n.startswith("v")]
    for old in versions[:-KEEP_VERSIONS]:
        if old not in keep:
            _remove_remote(f"{url}/{old}")


def _prune(root: Path, keep: set[str]) -> None:
    versions = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")),
        key=lambda p: p.name,
    )
    for old in versions[:-KEEP_VERSIONS]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)

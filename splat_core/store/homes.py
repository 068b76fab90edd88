"""What SPLAT_HOME is: a local directory, or an fsspec URL such as `s3://bucket/prefix`.

A home is remote when it is a URL whose scheme is not `file` (`s3://`, `gs://`, `az://`,
`memory://`, ...: any protocol fsspec knows). The object store is then the durable home and
computation stays on local files (see splat_core/store/catalog.py for the protocol):

- a writer stages a version in the home's local cache directory, uploads it to
  `<url>/<asset>[/<partition>]/<version>/`, and only then PUTs `CURRENT.json`; a single-object
  PUT is atomic on S3 (and GCS, Azure Blob), so readers never see a half-uploaded version;
- a reader resolves `CURRENT.json` remotely and reads a local copy of that version in the
  cache, fetched on first use (`fetch_dir`). Versions are immutable, so a copy never goes
  stale.

What belongs to one machine lives in `local_dir(home)`: the home itself when it is local,
the cache directory when it is remote. That is the staging area, the version cache, the
Dagster instance (`<local_dir>/dagster` unless DAGSTER_HOME is set) and the labels database.

Environment:
- `SPLAT_CACHE_DIR`: root of the per-home caches (default `~/.cache/splat`); a remote home's
  cache is `<root>/<sha256 of the URL and endpoint, 16 hex digits>/`.
- `SPLAT_S3_ENDPOINT_URL`: an S3-compatible endpoint (MinIO, Ceph, moto). botocore's own
  `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
  `AWS_PROFILE` and `AWS_DEFAULT_REGION` are honoured as usual by s3fs.
- `SPLAT_STORAGE_OPTIONS`: a JSON object of extra fsspec options for the home's filesystem
  (e.g. `{"anon": true}`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path

HomeLike = str | Path
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
DEFAULT_HOME = "./splat_home"
DEFAULT_CACHE_ROOT = "~/.cache/splat"
# Protocols whose first path component is a bucket (a missing one is a configuration error).
BUCKET_PROTOCOLS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}


def protocol(home: HomeLike) -> str | None:
    """The URL scheme of the home (lower case), or None for a plain path."""
    if isinstance(home, Path):
        return None
    match = _URL.match(home)
    return match.group(1).lower() if match else None


def is_remote(home: HomeLike) -> bool:
    """True for an fsspec URL other than file://."""
    return protocol(home) not in (None, "file")


def normalize(home: HomeLike) -> Path | str:
    """A local home as a Path (file:// stripped), a remote one as its URL without a trailing
    slash. Never `Path("s3://b/p")`, which would mangle the URL to `s3:/b/p`."""
    if is_remote(home):
        return str(home).rstrip("/")
    if protocol(home) == "file":
        return Path(str(home)[len("file://") :])
    return Path(home)


def resolve(home: HomeLike) -> Path | str:
    """`normalize`, with a local path made absolute."""
    home = normalize(home)
    return home if isinstance(home, str) else home.resolve()


def splat_home(path: str | Path | None = None) -> Path | str:
    """The root of materialized assets: the argument, else $SPLAT_HOME, else ./splat_home.

    A local directory is a Path; an fsspec URL such as `s3://bucket/prefix` stays a string
    : never `Path("s3://b/p")`, which would read `s3:/b/p`."""
    return normalize(path or os.environ.get("SPLAT_HOME") or DEFAULT_HOME)


def join(home: HomeLike, *parts: str) -> Path | str:
    """A path (local) or URL (remote) under the home."""
    home = normalize(home)
    if isinstance(home, Path):
        return home.joinpath(*parts)
    return "/".join([home, *parts])


# --- the remote filesystem -----------------------------------------------------------------


def storage_options(proto: str) -> dict:
    """fsspec options for the home's filesystem, from the environment."""
    raw = os.environ.get("SPLAT_STORAGE_OPTIONS") or "{}"
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"SPLAT_STORAGE_OPTIONS is not a JSON object: {e}") from None
    if not isinstance(options, dict):
        raise ValueError("SPLAT_STORAGE_OPTIONS must be a JSON object")
    endpoint = os.environ.get("SPLAT_S3_ENDPOINT_URL")
    if proto in ("s3", "s3a") and endpoint:
        options.setdefault("endpoint_url", endpoint)
    return options


def filesystem(url: str):
    """(fsspec filesystem, the URL's path on it) for a remote home or a URL under one."""
    import fsspec

    proto = protocol(url)
    try:
        return fsspec.core.url_to_fs(url, **storage_options(proto or ""))
    except ImportError as e:  # e.g. gcsfs not installed for gs://
        raise ImportError(f"cannot open {url}: {e}") from e


def bucket_error(url: str) -> FileNotFoundError | None:
    """A clear error if the URL's bucket does not exist (None if it does, or if the protocol
    has no buckets)."""
    if protocol(url) not in BUCKET_PROTOCOLS:
        return None
    fs, path = filesystem(url)
    bucket = path.strip("/").split("/")[0]
    if fs.exists(bucket):
        return None
    return FileNotFoundError(
        f"{url}: bucket {bucket!r} does not exist or is not reachable with the configured "
        "credentials and endpoint (SPLAT_S3_ENDPOINT_URL / AWS_ENDPOINT_URL)"
    )


# --- the local side of a remote home -------------------------------------------------------


def cache_dir(url: str) -> Path:
    """The local cache (and staging area) of a remote home."""
    url = str(normalize(url))
    endpoint = storage_options(protocol(url) or "").get("endpoint_url", "")
    digest = hashlib.sha256(f"{url}\n{endpoint}".encode()).hexdigest()[:16]
    root = Path(os.environ.get("SPLAT_CACHE_DIR") or DEFAULT_CACHE_ROOT).expanduser()
    out = root / digest
    if not (out / "HOME").exists():
        out.mkdir(parents=True, exist_ok=True)
        (out / "HOME").write_text("\n".join(filter(None, [url, endpoint])) + "\n")  # for people
    return out


def local_dir(home: HomeLike) -> Path:
    """Where this machine's state of the home lives: the home itself when local, its cache
    directory when remote."""
    home = normalize(home)
    return home if isinstance(home, Path) else cache_dir(home)


def upload_dir(local: Path, url: str) -> None:
    """Copy every file under `local` to `url/<relative path>` (concurrently where the
    filesystem can). Object stores have no empty directories, so none are made."""
    fs, root = filesystem(url)
    files = sorted(p for p in Path(local).rglob("*") if p.is_file())
    if not files:
        raise ValueError(f"{local}: nothing to upload")
    remote = [f"{root}/{p.relative_to(local).as_posix()}" for p in files]
    fs.put([str(p) for p in files], remote)


def fetch_dir(url: str, final: Path) -> Path:
    """A local copy of the immutable directory at `url`, at `final`; downloaded on first use.

    The whole directory is fetched into a temporary sibling and renamed into place, so a
    concurrent reader sees all of it or nothing. This is the one place a remote version
    reaches local disk: fetching lazily (e.g. per Zarr chunk for a large feature store)
    would start here.
    """
    final = Path(final)
    if final.is_dir():
        return final
    fs, root = filesystem(url)
    fs.invalidate_cache(root)
    files = [f for f in fs.find(root) if not f.endswith("/")]
    if not files:
        raise bucket_error(url) or FileNotFoundError(f"{url}: no such version (nothing there)")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".fetch-{final.name}-{uuid.uuid4().hex[:8]}"
    try:
        local = [str(tmp / f[len(root) :].lstrip("/")) for f in files]
        fs.get(files, local)
        try:
            os.replace(tmp, final)
        except OSError:  # another reader put it there first: theirs is the same bytes
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final

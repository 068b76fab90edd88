"""Checksums of published versions: every file is hashed into the version's MANIFEST.json
when it is published, and checked against it when it is read.

Why a manifest rather than a checksum codec inside the Zarr arrays: one mechanism covers
every file (Parquet, JSON, safetensors, Zarr metadata and chunks), the sparse stores keep
their raw chunk files (read by memory map, no decoding), and the manifest's hash of hashes
is the version's content fingerprint (what lineage and generations compare).

Reading: small files are checked when an artifact is opened (`Verifier.verify_eager`);
the large chunk files of the sparse stores are checked when a read first touches them, and
again whenever their size, mtime or inode changed (`Verifier.check`, called by the stores'
range readers). A file that does not match is a `DamagedError` naming the asset, version and
file, never numbers. Versions published before manifests existed have none: they are read
unchecked, and `splat verify` says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

MANIFEST = "MANIFEST.json"
DESCRIPTIVE = frozenset({"metrics.json"})  # describe a run (timings): not in the fingerprint
# Chunk files read by range (checked lazily): the sparse stores' indices and data, and a CSR
# shard's indptr. Everything else is checked whole when the artifact opens.
LAZY_PARTS = frozenset({("csc.zarr", "indices"), ("csc.zarr", "data"), ("csr.zarr", "indptr"),
                        ("csr.zarr", "indices"), ("csr.zarr", "data")})  # fmt: skip


class DamagedError(Exception):
    """A published file that does not match its version's manifest (or is missing)."""

    def __init__(self, asset: str, version: str, file: str, reason: str):
        super().__init__(f"{asset} version {version}: {file}: {reason}")
        self.asset, self.version, self.file, self.reason = asset, version, file, reason


def hash_file(path: str | Path, block: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _files(directory: Path) -> list[str]:
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST
    )


def fingerprint(files: dict[str, dict]) -> str:
    """16 hex digits of the sha256 of (path, sha256) of every content file."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        if rel.rsplit("/", 1)[-1] not in DESCRIPTIVE:
            digest.update(f"{rel}\0{files[rel]['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def hashed_files(directory: Path) -> dict[str, dict]:
    """{relative path: {sha256, bytes}} of every content file of a directory. The hashes of
    the last directory hashed are kept (by size, mtime and inode), so that a step that
    reports its content fingerprint before the publish does not hash its files twice."""
    global _last_hashed
    directory = Path(directory)
    last_dir, last = _last_hashed  # one tuple, rebound whole: safe across threads
    memo = last if last_dir == directory else {}
    files = {}
    for rel in _files(directory):
        st = (directory / rel).stat()
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        known = memo.get(rel)
        sha = known[1] if known and known[0] == stamp else hash_file(directory / rel)
        files[rel] = {"sha256": sha, "bytes": st.st_size, "_stamp": stamp}
    _last_hashed = (directory, {r: (f.pop("_stamp"), f["sha256"]) for r, f in files.items()})
    return files


_last_hashed: tuple = (None, {})  # (directory, {file: (size/mtime/inode, sha256)})


def fingerprint_of(fingerprints: dict[str, str]) -> str:
    """16 hex digits over several versions' fingerprints, by name (a range of shards)."""
    digest = hashlib.sha256()
    for name in sorted(fingerprints):
        digest.update(f"{name}\0{fingerprints[name]}\n".encode())
    return digest.hexdigest()[:16]


def content_fingerprint(directory: Path) -> str:
    """The fingerprint the directory's manifest will have (`fingerprint`)."""
    return fingerprint(hashed_files(directory))


def write_manifest(directory: Path, **record) -> dict:
    """Hash every file of a (staging) directory into its MANIFEST.json, with `record`
    (asset, partition, version, lineage); returns the manifest."""
    directory = Path(directory)
    files = hashed_files(directory)
    manifest = {**record, "fingerprint": fingerprint(files), "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict | None:
    """The version's manifest; None for a version published before manifests."""
    file = Path(directory) / MANIFEST
    if not file.exists():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        asset, version = _where(Path(directory))
        raise DamagedError(asset, version, MANIFEST, f"unreadable: {e}") from None


def _where(directory: Path) -> tuple[str, str]:
    """(asset[/partition], version) from a version directory's path (for legacy errors)."""
    parts = directory.resolve().parts
    asset = "/".join(parts[-3:-1]) if len(parts) >= 3 and parts[-2].isdigit() else parts[-2]
    return asset, parts[-1]


class Verifier:
    """Checks the files of one version directory against its manifest (thread-safe)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        if not self.directory.is_dir():  # a version a generation names, gone
            asset, version = _where(self.directory)
            raise DamagedError(asset, version, ".", "the version's directory is missing")
        self.manifest = read_manifest(self.directory)
        if self.manifest is not None:
            part = self.manifest.get("partition")
            self.asset = self.manifest["asset"] + (f"[{part}]" if part is not None else "")
            self.version = self.manifest["version"]
        else:
            self.asset, self.version = _where(self.directory)
        self._ok: dict[str, tuple] = {}  # file -> (size, mtime_ns, inode) when it matched
        self._rel: dict[str | Path, str] = {}  # path asked for -> file (pathlib costs µs per read)
        self._lock = threading.Lock()

    @property
    def checked(self) -> bool:
        return self.manifest is not None

    def damaged(self, rel: str, reason: str) -> DamagedError:
        return DamagedError(self.asset, self.version, rel, reason)

    def check(self, path: str | Path) -> None:
        """Raise DamagedError unless `path` (in this version) matches the manifest. A file
        the manifest does not list must not exist (Zarr leaves all-fill chunks unwritten).
        Costs one stat once the file has matched (the sparse stores call it on every read)."""
        if self.manifest is None:
            return
        rel = self._rel.get(path)
        if rel is None:
            rel = self._rel[path] = Path(path).relative_to(self.directory).as_posix()
        entry = self.manifest["files"].get(rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if entry is None:
                return
            raise self.damaged(rel, "missing") from None
        if entry is None:
            raise self.damaged(rel, "not in the manifest (a file appeared)")
        signature = (st.st_size, st.st_mtime_ns, st.st_ino)
        if self._ok.get(rel) == signature:
            return
        if st.st_size != entry["bytes"]:
            raise self.damaged(rel, f"{st.st_size} bytes, expected {entry['bytes']}")
        if hash_file(path) != entry["sha256"]:
            raise self.damaged(rel, "checksum mismatch")
        with self._lock:
            self._ok[rel] = signature

    def verify_eager(self) -> None:
        """Check every listed file except the lazily checked chunk files."""
        for rel in self._listed():
            if not _lazy(rel):
                self.check(self.directory / rel)

    def verify_all(self) -> list[str]:
        """Every problem of the version (all files, hashed): [] when intact."""
        if self.manifest is None:
            return []
        problems = []
        for rel in self._listed():
            try:
                self.check(self.directory / rel)
            except DamagedError as e:
                problems.append(str(e))
        extra = set(_files(self.directory)) - set(self.manifest["files"])
        problems += [str(self.damaged(rel, "not in the manifest")) for rel in sorted(extra)]
        return problems

    def _listed(self) -> list[str]:
        return sorted(self.manifest["files"]) if self.manifest else []


def _lazy(rel: str) -> bool:
    parts = rel.split("/")
    return len(parts) > 2 and (parts[0], parts[1]) in LAZY_PARTS and parts[2] == "c"

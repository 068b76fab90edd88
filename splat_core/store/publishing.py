"""Publishing a version, the one way anything is written into a home.

A writer holds the home (lock.py), fills a staging directory (`staged`), and `publish`:
1. freezes the home's CURRENT pointers as its first generation if it has none yet;
2. records the version's lineage (lineage.py) and hashes every file into its manifest
   (integrity.py);
3. installs it as the asset's current version (catalog.install: one rename, or an upload
   and then one PUT);
4. commits a new generation if the current versions now form a complete consistent one
   (generations.py), and prunes versions and generations no reader can still hold.

A failed step leaves no trace: its staging directory is removed, and directories left by a
killed process are removed when the next writer takes the home.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from splat_core.store import catalog, generations, homes, integrity, lineage, lock
from splat_core.store.homes import HomeLike

STAGING = ".staging-"


def hold(home: HomeLike, owner: str, wait_s: float = 0.0) -> dict:
    """Take (or renew) the home's writer lock for `owner`; when it is newly taken, remove
    the staging directories a killed writer left behind."""
    held = lock.holder(home)
    record = lock.acquire(home, owner, wait_s)
    if held is None or held["owner"] != owner:
        clean_staging(home)
    return record


def current_owner() -> str | None:
    """The run this process writes for, when a coordinator set one (SPLAT_WRITER)."""
    return os.environ.get(lock.OWNER_ENV) or None


@contextmanager
def writing(home: HomeLike, wait_s: float = 0.0) -> Iterator[str]:
    """Hold the home as a run's coordinator (`splat materialize`, the seed-scale bench): its
    steps, here or in child processes, write under the yielded owner id (SPLAT_WRITER);
    a second writer is refused (WriterBusy) until the block ends, or this process dies.
    Nested in a block that holds the same home, it reuses that block's hold."""
    enclosing = current_owner()
    held = lock.holder(home)
    if enclosing is not None and held is not None and held["owner"] == enclosing:
        yield enclosing  # inside another writing() block on this home: it holds the home
        return
    owner = f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    previous = os.environ.get(lock.OWNER_ENV)
    hold(home, owner, wait_s=wait_s)
    os.environ[lock.OWNER_ENV] = owner
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(home, owner, stop), daemon=True)
    beat.start()
    try:
        yield owner
    finally:
        stop.set()
        beat.join()
        if previous is None:
            os.environ.pop(lock.OWNER_ENV, None)
        else:
            os.environ[lock.OWNER_ENV] = previous
        # still the only writer: whatever a failed step left staged (e.g. Dagster itself
        # failed between a step's write and its publish) is this run's, and goes with it
        clean_staging(home)
        lock.release(home, owner, whole=True)


def _heartbeat(home: HomeLike, owner: str, stop: threading.Event) -> None:
    """Renew the lock's heartbeat four times per STALE_S while the run works (a writer on
    another host takes a lock over only once its heartbeat is STALE_S old)."""
    while not stop.wait(lock.STALE_S / 4):
        try:
            lock.renew(home, owner)
        except OSError:  # a storage hiccup: the next beat tries again
            continue


def clean_staging(home: HomeLike) -> int:
    """Remove every staging directory under the home's local side; only the lock holder
    may call this (no other writer can be filling one). Returns how many were removed."""
    root = homes.local_dir(home)
    if not root.is_dir():
        return 0
    found = [*root.glob(f"*/{STAGING}*"), *root.glob(f"*/*/{STAGING}*")]
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return len(found)


@contextmanager
def staged(home: HomeLike, asset: str, partition: str | None = None) -> Iterator[Path]:
    """A fresh staging directory for the asset (partition), removed if the block fails."""
    staging = catalog.new_staging_dir(home, asset, partition, prefix=STAGING)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish(
    home: HomeLike, asset: str, staging: Path, metadata: dict, partition: str | None = None,
    *, config=None, owner: str | None = None, inputs: list[str] | None = None,
    code: str | None = None,
) -> Path | str:  # fmt: skip
    """Make `staging` the current version of the asset (partition), under the writer lock
    of `owner` (else the run this process writes for, else a lock held just for this
    publish). `config` (a SplatConfig) is fingerprinted into the lineage, `code` (the
    step's code version) recorded; `inputs` replaces the contract's inputs for a version
    not computed the usual way (the seed-scale bench).
    Returns the version's directory (its URL under a remote home)."""
    owner = owner or current_owner()
    own = owner is None
    owner = owner or f"publish-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    lock.acquire(home, owner)
    try:
        return _publish(home, asset, Path(staging), metadata, partition, config, inputs, code)
    finally:
        if own:
            lock.release(home, owner)


def _publish(home, asset, staging, metadata, partition, config, inputs, code) -> Path | str:
    generations.freeze(home)
    record = lineage.record(asset, partition, catalog.read_catalog(home), config, inputs, code)
    version = catalog.new_version()
    manifest = integrity.write_manifest(
        staging, asset=asset, partition=partition, version=version, **record
    )
    pointer = {"metadata": metadata, "fingerprint": manifest["fingerprint"], **record}
    keep, old_generations = generations.retained(home)
    key = lineage.key_of(asset, partition)
    mine = {k.rsplit("@", 1)[1] for k in keep if k.rsplit("@", 1)[0] == key}
    final = catalog.install(home, asset, staging, version, pointer, partition, keep=mine)
    generations.commit(home)
    for name in old_generations:
        catalog.remove_home_file(home, f"{generations.HISTORY}/{name}")
    return final


def publish_asset(
    home: HomeLike, asset: str, write: Callable[[Path], dict], partition: str | None = None,
    *, config=None, inputs: list[str] | None = None,
) -> dict:  # fmt: skip
    """Run `write(staging_dir) -> metadata` and publish the result."""
    with staged(home, asset, partition) as staging:
        metadata = write(staging)
        publish(home, asset, staging, metadata, partition, config=config, inputs=inputs)
    return metadata

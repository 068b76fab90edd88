"""One writer per home: `<home>/WRITER.lock` names the run that may publish into it.

The lock file is created with O_CREAT | O_EXCL (atomic on a local file system) and holds
its owner (a run id), host, the pids of the processes holding it for that owner, and a
heartbeat. It is re-entrant for its owner: the steps of one run (in this process, in
multiprocess children, on workers) share the owner's id, and each adds its pid.

Two kinds of holder:
- a coordinator (`splat materialize`, the seed-scale bench) holds the home for its whole
  run, and releases it at the end (`release(..., whole=True)`);
- a Dagster run launched from the UI or a schedule holds it step by step: each step takes it
  (waiting for another run's step to finish), and gives its pid back once it has published.
A lock whose holders are gone is recovered: on the same host, as soon as none of its pids is
alive (a killed run does not block the next one); from another host, once its heartbeat is
older than STALE_S. Readers never look at it.

Under an object-store home the lock is an object written and read back: stores such as S3
give no atomic create-if-absent through fsspec, so two writers that start within the same
moment could both believe they hold it. Run one orchestrator per object-store home (the
Dagster daemon, or one `splat materialize`); the lock still stops a second run started
while one is going, and a killed one's lock is recovered after STALE_S.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from splat_core.store import catalog, homes
from splat_core.store.homes import HomeLike

LOCK = "WRITER.lock"
STALE_S = 600.0  # a lock held from another host with no heartbeat for this long is dead
OWNER_ENV = "SPLAT_WRITER"  # set by a run's coordinator: its steps share its lock


class WriterBusy(RuntimeError):
    """Another run holds the home."""


def holder(home: HomeLike) -> dict | None:
    text = catalog.read_home_file(home, LOCK)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"owner": "?", "host": "?", "pids": [], "heartbeat": 0.0}  # a torn write


def acquire(home: HomeLike, owner: str, wait_s: float = 0.0, poll_s: float = 0.2) -> dict:
    """Hold the home for `owner` (again, if it holds it already: this pid is added and the
    heartbeat renewed); wait up to `wait_s` for another live owner, then raise WriterBusy
    naming it."""
    deadline = time.monotonic() + wait_s
    while True:
        held = holder(home)
        if held is not None and held["owner"] != owner and alive(held):
            if time.monotonic() >= deadline:
                since = time.strftime("%H:%M:%S", time.localtime(held.get("since", 0)))
                raise WriterBusy(
                    f"{homes.normalize(home)} is being written by run {held['owner']} "
                    f"(host {held['host']}, pids {held['pids']}, since {since}); wait for "
                    "it to finish (`splat materialize --wait SECONDS`), or stop it"
                )
            time.sleep(poll_s)
            continue
        ours = held is not None and held["owner"] == owner
        pids = {p for p in held["pids"] if _pid_alive(p)} if ours else set()
        since = held["since"] if ours else time.time()
        record = {"owner": owner, "host": socket.gethostname(),
                  "pids": sorted(pids | {os.getpid()}), "since": since,
                  "heartbeat": time.time()}  # fmt: skip
        if held is None:
            if _create(home, record):
                return record
            continue  # someone else created it first: look again
        catalog.write_home_file(home, LOCK, json.dumps(record))  # ours, or a dead owner's
        if holder(home)["owner"] == owner:
            return record


def release(home: HomeLike, owner: str, whole: bool = False) -> None:
    """Give this process's hold back (the lock goes once no holder is left), or the whole
    lock (a coordinator at the end of its run)."""
    held = holder(home)
    if held is None or held["owner"] != owner:
        return
    left = [] if whole else [p for p in held["pids"] if p != os.getpid() and _pid_alive(p)]
    if left:
        catalog.write_home_file(home, LOCK, json.dumps({**held, "pids": left}))
    else:
        catalog.remove_home_file(home, LOCK)


def renew(home: HomeLike, owner: str) -> bool:
    """Refresh the heartbeat of `owner`'s lock (False if it no longer holds the home): a
    coordinator does this while its run works, so that a long step is not taken for dead."""
    held = holder(home)
    if held is None or held["owner"] != owner:
        return False
    catalog.write_home_file(home, LOCK, json.dumps({**held, "heartbeat": time.time()}))
    return True


def alive(held: dict) -> bool:
    if held.get("host") == socket.gethostname():
        return any(_pid_alive(p) for p in held.get("pids", []))
    return time.time() - held.get("heartbeat", 0.0) < STALE_S


def _create(home: HomeLike, record: dict) -> bool:
    """Create the lock file only if absent; False if someone else made it first."""
    text = json.dumps(record)
    if homes.is_remote(home):
        catalog.write_home_file(home, LOCK, text)
        return holder(home)["owner"] == record["owner"]
    path = Path(homes.join(home, LOCK))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True

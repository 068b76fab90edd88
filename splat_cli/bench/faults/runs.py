"""`splat materialize` as a child process, and the faults done to it: killed (SIGKILL, the
whole process group) at a chosen point of its publishing, or run out of disk."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from splat_core.store import catalog, generations, publishing

# A whole tiny run in about 30 s on 2 cores; CHANGED alters every sample and what follows,
# OTHER differently again (for two runs with different configs at once).
FAST = ("--profile", "tiny", "--set", "synth.n_builds=600", "--set", "train.epochs=1")
CHANGED = ("--set", "samples.instances=2")
OTHER = ("--set", "samples.instances=3")


@dataclass
class Finished:
    code: int  # the exit code; -9 when killed
    seconds: float
    output: str  # stdout and stderr together
    published: int  # asset versions this run published before it ended


def command(home: Path, args: tuple[str, ...]) -> list[str]:
    """`splat materialize` into `home` with `args` (profile, --set, --select, --wait)."""
    return [sys.executable, "-m", "splat_cli.main", "materialize", "--home", str(home), *args]


def environment(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SPLAT_WRITER", "DAGSTER_HOME")}
    return {**env, "SPLAT_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def versions(home: Path) -> dict[str, str]:
    """key -> current version of every asset (shard) of the home."""
    cat = catalog.read_catalog(home)
    out = {}
    for name, entry in cat.items():
        if "partitions" in entry:
            out |= {f"{name}/{p}": e["version"] for p, e in entry["partitions"].items()}
        elif "version" in entry:
            out[name] = entry["version"]
    return out


def staging_dirs(home: Path) -> list[Path]:
    return [*home.glob(f"*/{publishing.STAGING}*"), *home.glob(f"*/*/{publishing.STAGING}*")]


def served_id(home: Path) -> str | None:
    gen = generations.served(home)
    return None if gen is None else gen["id"]


def committed_at(home: Path, generation: str) -> float:
    """When a generation was committed (its record in the home's history)."""
    record = home / generations.HISTORY / f"{generation}.json"
    return float(json.loads(record.read_text())["created_at"])


def served_content(home: Path) -> str | None:
    """A digest of the served generation's content fingerprints: equal for two generations
    that serve the same bytes (a run may commit identical recomputed versions)."""
    gen = generations.served(home)
    if gen is None:
        return None
    fingerprints = sorted(gen["fingerprints"].items())
    return hashlib.sha256(json.dumps(fingerprints).encode()).hexdigest()[:16]


class Run:
    """One `splat materialize` child in its own process group, output to a temporary file."""

    def __init__(self, home: Path, args: tuple[str, ...], fsize: int = 0):
        self.home = home
        self.before = versions(home)
        self.staging_before = set(staging_dirs(home))
        self._log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by wait())
        self._start = time.monotonic()
        preexec = _file_size_limit(fsize) if fsize else None
        self.proc = subprocess.Popen(
            command(home, args), env=environment(home), stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec,
        )  # fmt: skip

    def published(self) -> int:
        now = versions(self.home)
        return sum(1 for k, v in now.items() if self.before.get(k) != v)

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: the run and every child it started, with no cleanup."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float = 900) -> Finished:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        self.kill()  # children a killed parent leaves behind
        self._log.seek(0)
        output = self._log.read()
        self._log.close()
        return Finished(code, time.monotonic() - self._start, output, self.published())


def materialize(home: Path, args: tuple[str, ...], fsize: int = 0) -> Finished:
    return Run(home, args, fsize).wait()


POINTS = (0, 3, 9, 17)  # the suite's kill points (below)


# Kill points: when the run has published this many versions (0: while it writes its first
# staging folder, before any publish). Shards count one each.
def kill_at(home: Path, args: tuple[str, ...], point: int, timeout: float = 900) -> Finished:
    """Start a run and SIGKILL it once it reaches `point`; a run that ends first is returned
    as it ended (its code is then not -9)."""
    run = Run(home, args)
    deadline = time.monotonic() + timeout
    while run.running() and time.monotonic() < deadline:
        new_staging = set(staging_dirs(home)) - run.staging_before
        reached = run.published() >= point if point else bool(new_staging)
        if reached:
            run.kill()
            break
        time.sleep(0.005)  # a tiny run's first staging folder lives for some 50 ms
    return run.wait()


def _file_size_limit(limit: int):
    def set_limit() -> None:  # in the child: a write past `limit` fails (EFBIG), no signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit

"""The fault scenarios. Each starts from a copy of a home that serves one generation, runs
the API over it, injects the fault while a poller asks the API the same questions over and
over, and then reruns what failed. A row says how often the fault was injected, what the
readers answered (probe.py: right / error / wrong, and 5xx), and what the rerun did."""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from splat_cli import verify as verify_cli
from splat_cli.bench.faults import damage, runs
from splat_cli.bench.faults.probe import Poller, Tally, pick, requests_for, snapshot
from splat_cli.bench.http import api_server
from splat_core.store import lock
from splat_core.store.verify import verify_home


@dataclass
class Workspace:
    """Where scenarios run: `pristine` serves one generation made with `args`."""

    root: Path
    pristine: Path
    args: tuple[str, ...]  # the config the pristine home was made with (profile, --set)
    progress: Callable[[str], None] = lambda _m: None

    def copy(self, name: str) -> Path:
        target = self.root / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.pristine, target, symlinks=True)
        return target


@contextlib.contextmanager
def served(home: Path) -> Iterator[tuple[str, httpx.Client, list[str]]]:
    """The API over `home`, a client, and the paths the poller asks."""
    with api_server(home) as url, httpx.Client(base_url=url, timeout=60) as client:
        health = client.get("/health").json()
        features, samples = pick(health["n_features"], health["n_samples"])
        yield url, client, requests_for(features, samples)


def await_generation(client: httpx.Client, home: Path, timeout: float = 30) -> str:
    """Wait until the server serves the home's current generation or a later one (it checks
    each second; a writer still going, e.g. one that waited for the lock, commits more)."""
    want = runs.served_id(home)
    since = runs.committed_at(home, want)
    deadline = time.monotonic() + timeout
    while True:
        got = client.get("/health").json()["generation"]
        if got is not None and runs.committed_at(home, got) >= since:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not move to generation {want} in {timeout} s")
        time.sleep(0.2)


def _state(home: Path) -> dict:
    """What a fault left under the home."""
    report = verify_home(home)
    holder = lock.holder(home)
    return {"generation": runs.served_id(home), "content": runs.served_content(home),
            "staging_dirs": len(runs.staging_dirs(home)),
            "lock": None if holder is None else
            ("held by a live process" if lock.alive(holder) else "left by a dead process"),
            "damaged_versions": report["damaged"]}  # fmt: skip


def _row(fault: str, injected: int, tally: Tally, rerun: str, **details) -> dict:
    return {"fault": fault, "injected": injected, **tally.as_dict(), "rerun": rerun, **details}


# --- kill -9 -------------------------------------------------------------------------------


def killed_runs(ws: Workspace, changed: bool, points: list[int]) -> dict:
    """SIGKILL a run at each point (versions published so far; 0: its first staging
    folder), with the pristine config or a changed one; then rerun it, served and polled."""
    extra = runs.CHANGED if changed else ()
    args = (*ws.args, *extra)
    during, rerun_tally, details = Tally(), Tally(), []
    for point in points:
        ws.progress(f"kill -9 at {point} published ({'changed' if changed else 'same'} config)")
        home = ws.copy(f"kill-{int(changed)}-{point}")
        with served(home) as (url, client, paths):
            before = snapshot(client, paths)
            with Poller(url, paths) as poller:
                killed = runs.kill_at(home, args, point)
                poller.more_rounds()  # answers after the kill too
            during.merge(poller.judge({"before": before}))
            left = _state(home)
            with Poller(url, paths) as poller:
                rerun = runs.materialize(home, args)
                await_generation(client, home)
            after = snapshot(client, paths)
            rerun_tally.merge(poller.judge({"before": before, "after": after}))
            details.append({
                "point": point, "killed": killed.code == -9, "published_before_kill":
                killed.published, "left": left, "rerun_code": rerun.code,
                "rerun_seconds": round(rerun.seconds, 1), "after_rerun": _state(home),
                "answers_changed": before.digests != after.digests,
            })  # fmt: skip
    ok = all(d["rerun_code"] == 0 and d["after_rerun"]["staging_dirs"] == 0
             and d["after_rerun"]["damaged_versions"] == 0 for d in details)  # fmt: skip
    recovered = sum(d["left"]["lock"] == "left by a dead process" for d in details)
    rerun = (f"{'completed' if ok else 'FAILED'}: new generation served, staging removed, "
             f"{recovered} dead writer locks recovered")  # fmt: skip
    config = "changed config" if changed else "same config"
    return _row(f"kill -9 of a run ({config}) at {len(points)} points", len(points), during,
                rerun, rerun_answers=rerun_tally.as_dict(), points=details)  # fmt: skip


# --- two writers ---------------------------------------------------------------------------


def concurrent_runs(ws: Workspace, waiter: bool = True, select: tuple[str, ...] = ()) -> dict:
    """Two runs with different configs at once: the second is refused with a message naming
    the first; a third with --wait (unless waiter=False) runs after it. Polled throughout.
    `select`: the first run materializes only these assets (a shorter run, which completes
    no generation)."""
    ws.progress("two concurrent runs with different configs")
    home = ws.copy("concurrent")
    with served(home) as (url, client, paths):
        before = snapshot(client, paths)
        with Poller(url, paths) as poller:
            first = runs.Run(home, (*ws.args, *runs.CHANGED, *_select(select)))
            while lock.holder(home) is None and first.running():
                time.sleep(0.05)
            holder = (lock.holder(home) or {}).get("owner", "?")
            refused = runs.materialize(home, (*ws.args, *runs.OTHER))
            if waiter:
                waiting = runs.Run(home, (*ws.args, *runs.OTHER, "--wait", "900"))
            first_done = first.wait()
            await_generation(client, home)
            middle = snapshot(client, paths)  # the first run's generation, served meanwhile
            waited = waiting.wait() if waiter else None
            await_generation(client, home)
        after = snapshot(client, paths)
        tally = poller.judge({"before": before, "first": middle, "waited": after})
    named = holder in refused.output
    rerun = (f"second refused (exit {refused.code}{', names the holder' if named else ''}); "
             f"first exit {first_done.code}")  # fmt: skip
    if waited is not None:
        rerun += f"; third (--wait) exit {waited.code}"
    return _row("two concurrent runs, different configs", 1, tally, rerun,
                refused_message=_last_line(refused.output), final=_state(home),
                served_last=after.generation, holder_named=named,
                codes=[first_done.code, refused.code, waited and waited.code])  # fmt: skip


# --- a full disk ---------------------------------------------------------------------------


# How a full disk shows in a run's output: ENOSPC from a file write, SQLite's own words for
# it (Dagster's event log may be the first writer to hit it), EFBIG under a file-size limit
FULL_DISK_SIGNS = ("No space left on device", "database or disk is full", "File too large")


@contextlib.contextmanager
def small_disk(path: Path, size: int) -> Iterator[str]:
    """A tmpfs of `size` bytes at `path` when this machine lets us mount one (root);
    yields how the disk was limited."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True).returncode == 0  # fmt: skip
    try:
        yield "tmpfs" if mounted else "rlimit"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def full_disk(ws: Workspace, rerun: bool = True) -> dict:
    """A changed-config run on a disk with room for about a third of its output (ENOSPC on
    a tmpfs; where mounting is not allowed, a file-size limit: EFBIG); then room is made and
    the run repeated (unless rerun=False)."""
    ws.progress("a full disk")
    size = _bytes(ws.pristine)
    mount = ws.root / "full-disk"
    with small_disk(mount, size + size // 3) as how:
        home = mount / "home"
        shutil.copytree(ws.pristine, home, symlinks=True)
        args = (*ws.args, *runs.CHANGED)
        with served(home) as (url, client, paths):
            before = snapshot(client, paths)
            with Poller(url, paths) as poller:
                failed = runs.materialize(home, args, fsize=0 if how == "tmpfs" else 1 << 16)
                poller.more_rounds()  # answers after the failure too
            tally = poller.judge({"before": before})
            left = _state(home)
            repeated, final = None, None
            if rerun:
                if how == "tmpfs":
                    subprocess.run(["mount", "-o", f"remount,size={size * 4}", str(mount)],
                                   check=True)  # fmt: skip
                repeated = runs.materialize(home, args)
                await_generation(client, home)
                after = snapshot(client, paths)
                final = {**_state(home), "answers_changed": before.digests != after.digests}
    error = next((line for line in failed.output.splitlines()
                  if any(sign in line for sign in FULL_DISK_SIGNS)), "")  # fmt: skip
    what = "ENOSPC: no space left on the home's tmpfs" if how == "tmpfs" else \
        "EFBIG: file-size limit of 64 KiB on the run"  # fmt: skip
    outcome = "not rerun" if repeated is None else \
        f"after room was made: exit {repeated.code}, new generation served"  # fmt: skip
    return _row(f"a full disk during a run ({what})", 1, tally, outcome, how=how,
                failed_code=failed.code, failed_message=error.strip()[:200], left=left,
                after_rerun=final)  # fmt: skip


# --- damaged files -------------------------------------------------------------------------


def downstream(asset: str) -> list[str]:
    """The asset and every asset computed from it (contract order)."""
    from splat_core.store.contract import ASSETS

    chosen = [asset]
    for spec in ASSETS:
        if spec.name not in chosen and any(d in chosen for d in spec.deps):
            chosen.append(spec.name)
    return chosen


def corruption(ws: Workspace, kinds: list[str], rounds: int = 3, rerun: bool = True) -> list[dict]:
    """Each kind of damage on the served generation, asked `rounds` times of the server
    that was serving it and of a server started after it; `splat verify` on it; repaired
    by rerunning the damaged asset and what follows from it (rerun=False: by restoring the
    files)."""
    home = ws.copy("corruption")
    out = []
    with served(home) as (url, client, paths):
        for kind in kinds:
            ws.progress(f"damage: {kind}")
            before = snapshot(client, paths)
            spec = damage.KINDS[kind]
            target = damage.version_dir(home, spec.key)
            backup = ws.root / "backup"
            shutil.rmtree(backup, ignore_errors=True)
            shutil.copytree(target, backup)
            hit = spec.inject(target)
            live = _ask(client, url, paths, hit.asset, rounds).judge({"before": before})
            with api_server(home) as fresh_url, httpx.Client(base_url=fresh_url) as fresh:
                opened = _ask(fresh, fresh_url, paths, hit.asset, rounds).judge({"before": before})
            tally = Tally().merge(live).merge(opened)
            verify_code = _splat_verify(home)
            if rerun:
                asset = hit.asset.split("[")[0]
                done = runs.materialize(home, (*ws.args, "--select", *downstream(asset)))
                how = f"--select {asset} and downstream: exit {done.code}"
            else:
                shutil.rmtree(target)
                shutil.copytree(backup, target)
                how = "files restored"
            await_generation(client, home)
            after = snapshot(client, paths)
            verify_after = _splat_verify(home)
            same = before.digests == after.digests
            out.append(_row(spec.what, 1, tally, f"`splat verify` exit {verify_code}; {how}; "
                            f"verify exit {verify_after}; answers as before the damage: "
                            f"{'yes' if same else 'NO'}",
                            kind=kind, damaged=f"{hit.asset} {hit.version} {hit.file}",
                            live_server=live.as_dict(), fresh_server=opened.as_dict(),
                            verify_exit=verify_code, verify_after=verify_after,
                            answers_restored=same))  # fmt: skip
    return out


def _select(assets: tuple[str, ...]) -> tuple[str, ...]:
    return ("--select", *assets) if assets else ()


def _splat_verify(home: Path) -> int:
    """`splat verify --home HOME`'s exit code (its output discarded)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return verify_cli.run(argparse.Namespace(home=str(home), json=True))


def _ask(client: httpx.Client, url: str, paths: list[str], damaged: str, rounds: int) -> Poller:
    """Every path `rounds` times, in this thread."""
    poller = Poller(url, paths, damaged=damaged)
    for _ in range(rounds):
        poller.records += [poller.ask(client, p) for p in paths]
    return poller


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:240] if lines else ""

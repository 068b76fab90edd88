"""`splat demo`: materialize the embedded default if it is not there yet, then serve the
activation API, the feature explorer and the Dagster UI on loopback; Ctrl-C stops all three.

Each service is its own process in its own session, so a Ctrl-C reaches only this one, which
asks each service once to shut down (SIGTERM, which all three handle cleanly) and waits for
it; their logs go to `$SPLAT_HOME/logs/demo-<service>.log`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from splat_cli.common import add_home_option, fail, progress
from splat_cli.serve import dagster_command, ui_command
from splat_core.store import homes
from splat_core.store.catalog import read_catalog
from splat_core.store.homes import splat_home

HOST = "127.0.0.1"
SERVICES = {  # name: (default port, health path, what a person opens)
    "api": (8765, "/health", "/docs"),
    "ui": (8501, "/_stcore/health", "/"),
    "dagster": (3000, "/server_info", "/"),
}
TITLES = {"ui": "feature explorer", "api": "activation API", "dagster": "Dagster UI"}
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 20.0


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="materialize the embedded default if needed, then serve the API, the explorer "
        "and the Dagster UI on loopback",
    )
    p.add_argument("--profile", default="default", help="profile to materialize (default)")
    add_home_option(p)
    for name, (port, _, _) in SERVICES.items():
        p.add_argument(f"--{name}-port", type=int, default=port, help=f"default {port}")
    p.add_argument("--no-dagster", action="store_true", help="skip the Dagster UI")
    p.set_defaults(run=run)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args) -> int:
    # Ctrl-C and a plain `kill` stop the services, also when started with SIGINT ignored (&)
    before = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _run(args) -> int:
    from splat_assets.instance import prepare_dagster_home

    home = homes.resolve(splat_home(args.home))
    prepare_dagster_home(home)  # DAGSTER_HOME (if unset) under the home, with its dagster.yaml
    env = {**os.environ, "SPLAT_HOME": str(home), "SPLAT_PROFILE": args.profile}
    if "feature_store" not in read_catalog(home):
        progress(f"no feature store under {home}: materializing profile {args.profile!r} first")
        cmd = [sys.executable, "-m", "splat_cli.main", "materialize", "--profile", args.profile,
               "--home", str(home)]  # fmt: skip
        code = subprocess.call(cmd, env=env)
        if code:
            return fail("materialization failed; nothing was started", code=code or 1)
    ports = {n: getattr(args, f"{n}_port") for n in SERVICES}
    names = [n for n in ("api", "ui", "dagster") if not (n == "dagster" and args.no_dagster)]
    busy = [f"{n} port {ports[n]}" for n in names if not _free(ports[n])]
    if busy:
        return fail(f"in use: {', '.join(busy)}; pass other --*-port values")
    logs = homes.local_dir(home) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in names:
            procs[name] = _start(name, ports[name], home, env, logs)
        _wait_ready(procs, ports, logs)
        print(f"splat demo is up (SPLAT_HOME={home}):")
        for name in names:
            print(f"  {TITLES[name]:18} http://{HOST}:{ports[name]}{SERVICES[name][2]}")
        print(f"logs in {logs}; Ctrl-C stops all {len(names)}.", flush=True)
        return _watch(procs, logs)
    except KeyboardInterrupt:
        progress("stopping…")
        return 0
    except RuntimeError as e:
        return fail(str(e), code=1)
    finally:
        _stop(procs)


def _free(port: int) -> bool:
    """Nothing listens on the port (connections of a server just stopped may linger)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _start(name: str, port: int, home: Path, env: dict, logs: Path) -> subprocess.Popen:
    if name == "api":
        cmd = [sys.executable, "-m", "splat_cli.main", "serve", "api", "--host", HOST,
               "--port", str(port), "--home", str(home)]  # fmt: skip
    elif name == "ui":
        cmd = ui_command(HOST, port)
    else:
        cmd = dagster_command(HOST, port)
    log = open(logs / f"demo-{name}.log", "w")  # noqa: SIM115 (the child keeps it)
    with log:
        return subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _answers(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _wait_ready(procs: dict, ports: dict, logs: Path) -> None:
    pending = dict(procs)
    deadline = time.monotonic() + START_TIMEOUT_S
    while pending:
        for name, proc in list(pending.items()):
            if proc.poll() is not None:
                raise RuntimeError(_died(name, proc, logs))
            if _answers(ports[name], SERVICES[name][1]):
                progress(f"{TITLES[name]} is up")
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"{', '.join(pending)} did not answer in {START_TIMEOUT_S:.0f} s")
        time.sleep(0.3)


def _watch(procs: dict, logs: Path) -> int:
    """Until Ctrl-C; a service that stops on its own stops the demo."""
    while True:
        for name, proc in procs.items():
            if proc.poll() is not None:
                return fail(_died(name, proc, logs), code=1)
        time.sleep(0.5)


def _died(name: str, proc: subprocess.Popen, logs: Path) -> str:
    tail = (logs / f"demo-{name}.log").read_text(errors="replace").splitlines()[-15:]
    return f"the {TITLES[name]} exited with code {proc.returncode}:\n" + "\n".join(tail)


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each service (their own clean shutdown), then wait; a service still up
    after STOP_TIMEOUT_S is terminated with its whole process group."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in procs.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=5)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
    if procs:
        progress("stopped")

"""`splat serve dagster|api|ui`: the Dagster UI, the activation API and the feature explorer,
on loopback by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from splat_cli.common import add_home_option, fail, progress
from splat_core.store import homes
from splat_core.store.homes import splat_home

DEFAULT_PORTS = {"dagster": 3000, "api": 8765, "ui": 8501}


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the Dagster UI, the activation API or the explorer")
    p.add_argument("service", choices=sorted(DEFAULT_PORTS), help="what to serve")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=None, help="dagster 3000, api 8765, ui 8501")
    p.add_argument("--profile", default=None, help="profile of the code location (SPLAT_PROFILE)")
    add_home_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    home = homes.resolve(splat_home(args.home))
    os.environ["SPLAT_HOME"] = str(home)
    port = args.port or DEFAULT_PORTS[args.service]
    if args.service == "api":
        return serve_api(args.host, port)
    if args.service == "ui":
        return serve_ui(args.host, port)
    return serve_dagster(args.host, port, home, args.profile)


def serve_api(host: str, port: int) -> int:
    import uvicorn

    from splat_server.settings import is_loopback

    if not is_loopback(host) and not os.environ.get("SPLAT_API_TOKEN"):
        return fail(f"refusing to listen on {host} without SPLAT_API_TOKEN set")
    os.environ["SPLAT_API_HOST"] = host  # the app asks for the token on a public bind
    progress(f"activation API on http://{host}:{port} (docs at /docs, "
             f"SPLAT_HOME={os.environ['SPLAT_HOME']})")  # fmt: skip
    uvicorn.run("splat_server.app:app", host=host, port=port, log_level="warning")
    return 0


def dagster_command(host: str, port: int) -> list[str]:
    """`dagster dev` (webserver and daemon) over the splat code location."""
    return [
        sys.executable, "-m", "dagster", "dev", "-m", "splat_assets.definitions",
        "-h", host, "-p", str(port),
    ]  # fmt: skip


def serve_dagster(host: str, port: int, home, profile: str | None) -> int:
    from splat_assets.instance import prepare_dagster_home

    if profile:
        os.environ["SPLAT_PROFILE"] = profile
    prepare_dagster_home(home)
    progress(f"Dagster UI on http://{host}:{port} (SPLAT_HOME={home})")
    try:
        return run_child(dagster_command(host, port))
    except FileNotFoundError as e:
        return fail(str(e))


def run_child(cmd: list[str], grace_s: float = 10.0) -> int:
    """Run a server in the foreground until it exits. A Ctrl-C reaches it too (same process
    group) and it shuts down by itself: wait for that instead of killing it half-way. A
    SIGTERM to this process, or a Ctrl-C the server did not get, is passed on as SIGTERM."""
    child: subprocess.Popen | None = None
    asked = False

    def on_term(*_):  # installed before the child starts: no SIGTERM is lost in between
        nonlocal asked
        asked = True
        if child is not None:
            child.terminate()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with subprocess.Popen(cmd, env=os.environ.copy()) as child:
            if asked:
                child.terminate()
            while True:
                try:
                    return child.wait()
                except KeyboardInterrupt:
                    try:
                        return child.wait(timeout=grace_s)
                    except subprocess.TimeoutExpired:
                        child.terminate()
                    except KeyboardInterrupt:
                        child.terminate()
    finally:
        signal.signal(signal.SIGTERM, previous)


def ui_command(host: str, port: int) -> list[str]:
    """`streamlit run splat_ui/app.py` bound to host:port, headless, without telemetry."""
    import splat_ui

    app = Path(splat_ui.__file__).resolve().parent / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def serve_ui(host: str, port: int) -> int:
    from splat_server.settings import is_loopback

    if not is_loopback(host) and os.environ.get("SPLAT_UI_ALLOW_REMOTE") != "1":
        return fail(
            f"refusing to serve the explorer on {host}: it has no authentication and writes "
            "labels; tunnel to 127.0.0.1 (ssh -L) or set SPLAT_UI_ALLOW_REMOTE=1"
        )
    progress(f"feature explorer on http://{host}:{port} (SPLAT_HOME={os.environ['SPLAT_HOME']})")
    return run_child(ui_command(host, port))

"""`splat serve dagster|api`: the Dagster UI and the activation API, on loopback by default."""

from __future__ import annotations

import os
import subprocess
import sys

from splat_cli.common import add_home_option, fail, progress
from splat_core.config import splat_home

DEFAULT_PORTS = {"dagster": 3000, "api": 8765}


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the Dagster UI or the activation API")
    p.add_argument("service", choices=sorted(DEFAULT_PORTS), help="what to serve")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=None, help="dagster 3000, api 8765")
    p.add_argument("--profile", default=None, help="profile of the code location (SPLAT_PROFILE)")
    add_home_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    home = splat_home(args.home).resolve()
    os.environ["SPLAT_HOME"] = str(home)
    port = args.port or DEFAULT_PORTS[args.service]
    if args.service == "api":
        return serve_api(args.host, port)
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


def serve_dagster(host: str, port: int, home, profile: str | None) -> int:
    from splat_assets.instance import prepare_dagster_home

    if profile:
        os.environ["SPLAT_PROFILE"] = profile
    prepare_dagster_home(home)
    cmd = [
        sys.executable, "-m", "dagster", "dev", "-m", "splat_assets.definitions",
        "-h", host, "-p", str(port),
    ]  # fmt: skip
    progress(f"Dagster UI on http://{host}:{port} (SPLAT_HOME={home})")
    try:
        return subprocess.call(cmd, env=os.environ.copy())
    except KeyboardInterrupt:
        return 0
    except FileNotFoundError as e:
        return fail(str(e))

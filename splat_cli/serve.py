"""`splat serve dagster|api|ui`: the Dagster UI, the activation API, the explorer, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys

from splat_cli.common import add_home_option, fail, progress
from splat_core.config import splat_home


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the Dagster UI (more services follow)")
    p.add_argument("service", choices=["dagster"], help="what to serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--profile", default=None, help="profile of the code location (SPLAT_PROFILE)")
    add_home_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_assets.instance import prepare_dagster_home

    home = splat_home(args.home).resolve()
    env = os.environ.copy()
    env["SPLAT_HOME"] = str(home)
    if args.profile:
        env["SPLAT_PROFILE"] = args.profile
    os.environ.update(env)
    prepare_dagster_home(home)
    env.update({k: os.environ[k] for k in ("DAGSTER_HOME", "SPLAT_DAGSTER_STORAGE")})
    cmd = [
        sys.executable, "-m", "dagster", "dev", "-m", "splat_assets.definitions",
        "-h", args.host, "-p", str(args.port),
    ]  # fmt: skip
    progress(f"Dagster UI on http://{args.host}:{args.port} (SPLAT_HOME={home})")
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
    except FileNotFoundError as e:
        return fail(str(e))

"""`splat info`: where every materialized asset lives, and its metadata."""

from __future__ import annotations

from splat_cli.common import add_home_option, print_json
from splat_core.catalog import read_catalog
from splat_core.config import splat_home


def register(sub) -> None:
    p = sub.add_parser("info", help="list materialized assets, their paths and metadata")
    add_home_option(p)
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    home = splat_home(args.home)
    catalog = read_catalog(home)
    if args.json:
        print_json(catalog)
        return 0
    if not catalog:
        print(f"nothing materialized under {home} yet (run `splat materialize`)")
        return 0
    for asset, entry in catalog.items():
        meta = entry["metadata"]
        summary = ", ".join(f"{k}={v}" for k, v in meta.items() if not isinstance(v, dict))
        print(f"{asset:12} {entry['path']}\n{'':12} {summary}")
    return 0

"""`splat info`: where every materialized asset lives, and its metadata."""

from __future__ import annotations

import posixpath

from splat_cli.common import add_home_option, fail, print_json
from splat_core.store.catalog import read_catalog
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser("info", help="list materialized assets, their paths and metadata")
    add_home_option(p)
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.add_argument("--profile", default=None,
                   help="also compare each asset's settings with this profile's")  # fmt: skip
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config overrides of --profile")  # fmt: skip
    p.set_defaults(run=run)


def run(args) -> int:
    home = splat_home(args.home)
    catalog = read_catalog(home)
    try:
        mark_stale(catalog, args.profile, args.overrides)
    except (ValueError, FileNotFoundError) as e:  # an unknown profile or setting
        return fail(str(e))
    if args.json:
        print_json(catalog)
        return 0
    if not catalog:
        print(f"nothing materialized under {home} yet (run `splat materialize`)")
        return 0
    for asset, entry in catalog.items():
        if "partitions" in entry:
            parts = entry["partitions"]
            where = posixpath.dirname(entry_root(parts))
            print(f"{asset:14} {len(parts)} partitions under {where}")
            for key, part in parts.items():
                print(f"{'':14} [{key}] {_status(part)}: {_summary(part['metadata'])}")
        else:
            print(f"{asset:14} {entry['path']}\n{'':14} {_status(entry)}: "
                  f"{_summary(entry['metadata'])}")  # fmt: skip
    return 0


def mark_stale(catalog: dict, profile: str | None, overrides: list[str]) -> None:
    """Each entry's `stale`: why it must be recomputed (pipeline/freshness.py), else None."""
    from splat_core.pipeline.freshness import stale_assets

    config = None
    if profile is not None:
        from splat_core.pipeline.config import load_config

        config = load_config(profile, overrides)
    stale = stale_assets(catalog, config)
    for asset, entry in catalog.items():
        for key, part in entry.get("partitions", {}).items():
            part["stale"] = stale.get(f"{asset}/{key}")
        if "version" in entry:
            entry["stale"] = stale.get(asset)


def _status(entry: dict) -> str:
    return "up to date" if entry.get("stale") is None else f"STALE ({entry['stale']})"


def entry_root(parts: dict) -> str:
    """The directory above a partition's version (a path, or a URL for a remote home)."""
    return posixpath.dirname(next(iter(parts.values()))["path"])


def _summary(meta: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in meta.items() if not isinstance(v, dict | list))

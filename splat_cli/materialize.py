"""`splat materialize`: run the main job on the configured profile."""

from __future__ import annotations

from splat_cli.common import add_home_option, add_profile_options, fail, progress
from splat_core.config import load_config, splat_home
from splat_core.refdata import ReferenceDataError


def register(sub) -> None:
    p = sub.add_parser("materialize", help="materialize the assets under SPLAT_HOME")
    add_profile_options(p)
    add_home_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.pipeline import run_main

    try:
        config = load_config(args.profile, args.overrides)
    except ValueError as e:
        return fail(str(e))
    home = splat_home(args.home)
    progress(f"materializing profile {config.profile!r} into {home}")
    try:
        assets = run_main(config, home, progress)
    except ReferenceDataError as e:
        return fail(str(e), code=1)
    print(format_model_report(assets["base_model"]))
    return 0


def format_model_report(meta: dict) -> str:
    rows = [
        ("model", meta["test"]),
        ("weapon-frequency baseline", meta["baseline_weapon_frequency"]),
        ("  + copy input tokens", meta["baseline_weapon_frequency_copy_input"]),
    ]
    lines = [
        f"held-out builds: {meta['test']['n_instances']} partial-build instances",
        f"{'':28}{'micro F1':>10}{'precision':>11}{'recall':>9}{'completion':>12}",
    ]
    for name, m in rows:
        lines.append(
            f"{name:28}{m['micro_f1']:>10.3f}{m['micro_precision']:>11.3f}"
            f"{m['micro_recall']:>9.3f}{m['completion_recall']:>12.3f}"
        )
    return "\n".join(lines)

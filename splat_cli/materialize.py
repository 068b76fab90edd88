"""`splat materialize`: materialize the asset graph on a Dagster instance under SPLAT_HOME."""

from __future__ import annotations

import os
import time

from splat_cli.common import add_home_option, add_profile_options, fail, progress
from splat_core.store import homes, lock, publishing
from splat_core.store.catalog import read_catalog
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser("materialize", help="materialize the assets under SPLAT_HOME")
    add_profile_options(p)
    add_home_option(p)
    p.add_argument(
        "--select", nargs="+", default=None, metavar="ASSET",
        help="only these assets (in graph order), e.g. --select sae activations feature_store",
    )  # fmt: skip
    p.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for another run writing the home to finish (default: refuse)",
    )  # fmt: skip
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.pipeline.config import load_config  # imports torch: on use only
    from splat_core.pipeline.preflight import check_sources

    try:  # fail fast, before anything is published: the config, then every outside source
        check_sources(load_config(args.profile, args.overrides))
    except (ValueError, FileNotFoundError) as e:
        return fail(str(e))
    from splat_assets.definitions import build_definitions
    from splat_assets.instance import get_instance
    from splat_assets.resources import SplatSettings
    from splat_assets.runner import materialize_graph, stages

    home = homes.resolve(splat_home(args.home))
    try:
        stages(args.select)
    except ValueError as e:
        return fail(str(e))
    settings = SplatSettings(home=str(home), profile=args.profile, overrides=args.overrides)
    os.environ["SPLAT_HOME"] = str(home)
    start = time.perf_counter()
    try:  # the home first: a second writer is told at once, before Dagster loads
        with publishing.writing(home, args.wait):
            progress(f"materializing profile {args.profile!r} into {home}")
            seconds = materialize_graph(build_definitions(settings), get_instance(home),
                                        args.select, progress)  # fmt: skip
    except lock.WriterBusy as e:
        return fail(str(e), code=1)
    except Exception as e:  # a step's own error is the useful message
        return fail(str(_user_error(e)), code=1)
    print(format_report(read_catalog(home), seconds, time.perf_counter() - start))
    return 0


def _user_error(error: BaseException) -> BaseException:
    while getattr(error, "user_exception", None) is not None or error.__cause__ is not None:
        error = getattr(error, "user_exception", None) or error.__cause__
    return error


def format_report(catalog: dict, seconds: dict[str, float], total: float) -> str:
    lines = ["", "asset timings (seconds, partitions summed)"]
    lines += [f"  {name:20}{s:8.1f}" for name, s in seconds.items()]
    lines.append(f"  {'total':20}{total:8.1f}")
    model = catalog.get("base_model", {}).get("metadata", {})
    if "test" in model:
        lines += ["", format_model_report(model)]
    sae = catalog.get("sae", {}).get("metadata", {})
    if "explained_variance" in sae:
        lines += ["", format_sae_report(sae)]
    return "\n".join(lines)


def format_model_report(meta: dict) -> str:
    rows = [
        ("model", meta["test"]),
        ("weapon-frequency baseline", meta["baseline_weapon_frequency"]),
        ("  + copy input tokens", meta["baseline_weapon_frequency_copy_input"]),
    ]
    lines = [
        f"base model, held-out builds: {meta['test']['n_instances']} partial-build instances",
        f"{'':28}{'micro F1':>10}{'precision':>11}{'recall':>9}{'completion':>12}",
    ]
    for name, m in rows:
        lines.append(
            f"{name:28}{m['micro_f1']:>10.3f}{m['micro_precision']:>11.3f}"
            f"{m['micro_recall']:>9.3f}{m['completion_recall']:>12.3f}"
        )
    return "\n".join(lines)


def format_sae_report(meta: dict) -> str:
    lines = [
        f"SAE: explained variance {meta['explained_variance']:.3f}, "
        f"loss recovered {meta['loss_recovered']:.3f}, "
        f"dead fraction {meta['dead_fraction']:.3f}, mean L0 {meta['mean_l0']:.1f}"
    ]
    for name, best in meta.get("archetype_auroc", {}).items():
        lines.append(f"  {name:18} feature {best['feature']:>5}  AUROC {best['auroc']:.3f}")
    return "\n".join(lines)

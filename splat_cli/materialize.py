"""`splat materialize`: materialize the asset graph on a Dagster instance under SPLAT_HOME."""

from __future__ import annotations

import os
import time

from splat_cli.common import add_home_option, add_profile_options, fail, progress
from splat_cli.progress import StageBars
from splat_core.store import contract, homes, lock, publishing
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
        "--sae", action="append", default=None, metavar="NAME",
        help="the per-SAE assets of this SAE variant only (repeatable; default: every "
             "variant of the home, `splat sae list`)",
    )  # fmt: skip
    p.add_argument(
        "--sae-variant", action="append", default=[], metavar="'NAME key=value ...'",
        help="define (or redefine) an SAE variant first, e.g. --sae-variant 'wide arch=topk "
             "features=1024 k=16' (the same as `splat sae add`)",
    )  # fmt: skip
    p.add_argument(
        "--force", action="store_true",
        help="recompute every (selected) asset, even those that are up to date",
    )  # fmt: skip
    p.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for another run writing the home to finish (default: refuse)",
    )  # fmt: skip
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.pipeline.config import (
        load_config,  # imports torch: on use only
        variant_configs,
    )
    from splat_core.pipeline.preflight import check_sources
    from splat_core.pipeline.sae_variants import define_variant

    home = homes.resolve(splat_home(args.home))
    try:  # fail fast, before anything is published: names and config first
        contract.check_names(args.select or ())
        config = load_config(args.profile, args.overrides)
        for spec in args.sae_variant:
            define_variant(home, args.profile, args.overrides, spec)
        saes = args.sae
        if saes is None and args.sae_variant:  # defined here: materialize those
            saes = [spec.split()[0] for spec in args.sae_variant]
        configs = variant_configs(home, args.profile, args.overrides, saes)
    except (ValueError, FileNotFoundError, KeyError) as e:
        return fail(str(e))
    if not args.force and _up_to_date(home, config, args.select, configs):
        return 0
    try:  # then every outside source the run reads
        check_sources(config)
    except (ValueError, FileNotFoundError) as e:
        return fail(str(e))
    from splat_assets.definitions import build_definitions
    from splat_assets.instance import get_instance
    from splat_assets.resources import SplatSettings
    from splat_assets.runner import materialize_graph

    settings = SplatSettings(home=str(home), profile=args.profile, overrides=args.overrides)
    os.environ["SPLAT_HOME"] = str(home)
    start = time.perf_counter()
    try:  # the home first: a second writer is told at once, before Dagster loads
        with publishing.writing(home, args.wait):
            progress(f"materializing profile {args.profile!r} into {home}")
            graph = materialize_graph(build_definitions(settings), get_instance(home),
                                      args.select, StageBars(), force=args.force,
                                      saes=list(configs))  # fmt: skip
    except lock.WriterBusy as e:
        return fail(str(e), code=1)
    except Exception as e:  # a step's own error is the useful message
        return fail(str(_user_error(e)), code=1)
    print(format_report(read_catalog(home), graph.seconds, time.perf_counter() - start))
    if graph.up_to_date:
        print(format_up_to_date(graph.up_to_date, bool(graph.seconds)))
    return 0


def _up_to_date(home, config, select, configs: dict) -> bool:
    """Nothing (selected) is missing or stale: say so and stop, before Dagster loads."""
    from splat_core.pipeline.freshness import stale_assets

    if homes.is_remote(home):
        return False  # the runner plans against the remote catalog itself
    try:
        stale = stale_assets(read_catalog(home), config, select, configs)
    except (OSError, ValueError):  # an unreadable catalog: the run says what is wrong
        return False
    if stale:
        return False
    print(f"every {'selected ' if select else ''}asset of {home} is up to date "
          "(--force recomputes)")  # fmt: skip
    return True


def format_up_to_date(names: list[str], ran: bool) -> str:
    """The assets skipped as up to date (their partitions counted, not listed)."""
    counts: dict[str, int] = {}
    for name in names:
        asset = name.split(" [")[0]
        counts[asset] = counts.get(asset, 0) + 1
    listed = ", ".join(a if n == 1 and a in names else f"{a} ({n} partitions)"
                       for a, n in counts.items())  # fmt: skip
    head = "up to date, not recomputed" if ran else "every asset is up to date; nothing to do"
    return f"\n{head}: {listed}\n(--force recomputes them)"


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

"""`splat bench ...`: benchmarks that print measured figures (not tests)."""

from __future__ import annotations

import json
from pathlib import Path

from splat_cli.bench import sae_variants
from splat_cli.common import add_home_option, fail, positive_int, print_json
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks on the materialized assets")
    bench_sub = p.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    t = bench_sub.add_parser(
        "transpose", help="feature-store build: throughput and peak memory at 1x and 2x samples"
    )
    add_home_option(t)
    t.add_argument("--scales", type=positive_int, nargs="+", default=[1, 2])
    t.add_argument("--budget-mb", type=positive_int, default=256)
    t.add_argument("--repeats", type=positive_int, default=3, help="builds per scale (median)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(run=run_transpose)
    q = bench_sub.add_parser("query", help="in-process query latency over every feature")
    add_home_option(q)
    q.add_argument("--repeats", type=positive_int, default=1)
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_query)
    a = bench_sub.add_parser(
        "api", help="HTTP latency (top-20, summary, activation lists) vs the seed's dense Zarr"
    )
    add_home_option(a)
    a.add_argument("--repeats", type=positive_int, default=30)
    a.add_argument("--json-repeats", type=positive_int, default=5)
    a.add_argument("--dense-dir", default=None, help="where to write the dense baseline rows")
    a.add_argument("--load-seconds", type=float, default=30.0, help="0 skips the load test")
    a.add_argument("--clients", type=positive_int, default=16)
    a.add_argument("--out", default=None, help="also write the JSON report here")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=run_api)
    e = bench_sub.add_parser(
        "encode", help="encode samples/s beside the matmul rate of the same shapes (roofline)"
    )
    add_home_option(e)
    e.add_argument("--samples", type=positive_int, default=20_000)
    e.add_argument("--repeats", type=positive_int, default=3)
    e.set_defaults(run=run_encode)
    s = bench_sub.add_parser(
        "seed-store",
        help="write a synthetic seed-scale home (1M x 24,576) through the real write path",
    )
    s.add_argument("home", help="where to write it (a new SPLAT_HOME)")
    s.add_argument("--small", action="store_true", help="20,000 x 512, for a quick look")
    s.add_argument("--no-analysis", action="store_true")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--only", default=None, metavar="ASSETS",
                   help="comma-separated analysis assets: time only these, on a home written "
                        "before (seconds and RSS per step, as JSON)")  # fmt: skip
    s.set_defaults(run=run_seed_store)
    u = bench_sub.add_parser(
        "suite", help="every benchmark on one home: bench.json + a markdown table vs the targets"
    )
    add_home_option(u)
    u.add_argument(
        "--make-store",
        action="store_true",
        help="write the seed-scale store into --home first (reused if already there)",
    )
    u.add_argument("--small", action="store_true", help="with --make-store: 20,000 x 512")
    u.add_argument("--out", default=None, help="report folder (default: HOME/bench)")
    u.add_argument(
        "--repeats", type=positive_int, default=30, help="timed calls per read and request"
    )
    u.add_argument("--json-repeats", type=positive_int, default=5)
    u.add_argument("--load-seconds", type=float, default=0.0, help="> 0 adds a load test")
    u.add_argument("--clients", type=positive_int, default=16)
    u.add_argument("--query-repeats", type=positive_int, default=1)
    u.add_argument("--encode-samples", type=positive_int, default=1024)
    u.add_argument("--encode-repeats", type=positive_int, default=3)
    u.add_argument("--scales", type=positive_int, nargs="+", default=[1, 2])
    u.add_argument("--budget-mb", type=positive_int, default=256)
    u.add_argument(
        "--scan-batches",
        type=positive_int,
        default=20,
        help="batches of the sample-major scan measured (the rest extrapolated)",
    )
    u.add_argument("--scan-repeats", type=positive_int, default=3)
    u.add_argument(
        "--size-probes",
        type=positive_int,
        default=16,
        help="dense rows written to estimate the dense array's bytes",
    )
    u.add_argument(
        "--seed-report",
        default=None,
        help="a saved seed-store report (JSON) for a home made without the suite",
    )
    u.add_argument("--scratch", default=None, help="where the seed's layouts are written")
    u.set_defaults(run=run_suite)
    _register_faults(bench_sub)
    sae_variants.register(bench_sub)


def _register_faults(bench_sub) -> None:
    from splat_cli.bench.faults.damage import KINDS
    from splat_cli.bench.faults.runs import POINTS  # light: `splat --help` loads this

    f = bench_sub.add_parser(
        "faults",
        help="fault injection on a tiny home: kill -9, two writers, a full disk, damaged "
        "files, heavy and stalled clients; what the readers answered",
    )
    f.add_argument("--work", default=None, help="where homes are made (default: a temp dir)")
    f.add_argument("--out", default=None, help="also write faults.json and faults.md here")
    f.add_argument(
        "--points",
        type=int,
        nargs="+",
        default=list(POINTS),
        help="kill after this many published versions (0: while staging)",
    )
    f.add_argument(
        "--kinds",
        nargs="+",
        choices=list(KINDS),
        default=list(KINDS),
        metavar="KIND",
        help=f"damage kinds (default: all): {', '.join(KINDS)}",
    )
    f.add_argument("--clients", type=positive_int, default=40)
    f.add_argument("--stalled", type=positive_int, default=10)
    f.add_argument("--seconds", type=float, default=20.0, help="length of the load test")
    f.set_defaults(run=run_faults)  # fmt: skip


def run_query(args) -> int:
    from splat_cli.bench.query import bench_queries

    home = splat_home(args.home)
    try:
        results = bench_queries(home, args.repeats)
    except FileNotFoundError as e:
        return fail(str(e))
    if args.json:
        print_json(results)
        return 0
    print(f"{'query':30}{'n':>7}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
    for name, r in results.items():
        print(f"{name:30}{r['n']:>7}{r['median_ms']:>11.3f}{r['p99_ms']:>9.3f}{r['max_ms']:>9.3f}")
    return 0


def run_transpose(args) -> int:
    from splat_cli.bench.transpose import bench_transpose

    home = splat_home(args.home)
    try:
        results = bench_transpose(home, args.scales, args.budget_mb, args.repeats)
    except (FileNotFoundError, KeyError) as e:
        return fail(f"needs materialized activations under {home}: {e}")
    if args.json:
        print_json(results)
        return 0
    print(f"{'scale':>5} {'samples':>10} {'nnz':>12} {'median s':>9} {'nnz/s':>12} "
          f"{'first nnz/s':>12} {'traced MiB':>11} {'RSS MiB':>8} {'compile s':>10}")  # fmt: skip
    for r in results:
        print(f"{r['scale']:>5} {r['n_samples']:>10,} {r['nnz']:>12,} {r['seconds']:>9.2f} "
              f"{r['nnz_per_s']:>12,} {r['first_nnz_per_s']:>12,} "
              f"{r['traced_peak_bytes'] / 2**20:>11.1f} {r['peak_rss_bytes'] / 2**20:>8.1f} "
              f"{r['compile_seconds']:>10.2f}")  # fmt: skip
    print(
        f"(median of {len(results[0]['runs_seconds'])} builds per scale, each scale in "
        "a fresh process; the kernels' compile is timed apart)"
    )
    return 0


def run_api(args) -> int:
    from splat_cli.bench.api import bench_api, render_api
    from splat_cli.bench.http import api_server
    from splat_cli.bench.load import load_test

    home = splat_home(args.home)
    try:
        report = bench_api(home, args.repeats, args.json_repeats,
                           Path(args.dense_dir) if args.dense_dir else None)  # fmt: skip
        if args.load_seconds > 0:
            with api_server(home) as url:
                report["load"] = [
                    load_test(url, args.clients, args.load_seconds, mix) for mix in ("read", "all")
                ]
    except FileNotFoundError as e:
        return fail(str(e))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print_json(report)
        return 0
    print(render_api(report), end="")
    for load in report.get("load", []):
        print(
            f"load ({load['mix']} mix): {load['clients']} clients x {load['seconds']} s: "
            f"{load['requests']:,} requests, {load['errors']} errors, "
            f"{load['throughput_rps']} req/s, p50 {load['latency']['median_ms']} ms, "
            f"p99 {load['latency']['p99_ms']} ms"
        )
    return 0


def run_seed_store(args) -> int:
    from splat_cli.bench import seed_store

    argv = [args.home, "--seed", str(args.seed)]
    argv += ["--small"] * args.small + ["--no-analysis"] * args.no_analysis
    argv += ["--only", args.only] if args.only else []
    return seed_store.main(argv)


def run_encode(args) -> int:
    from splat_cli.bench.encode import bench_encode

    try:
        print_json(bench_encode(splat_home(args.home), args.samples, repeats=args.repeats))
    except (FileNotFoundError, KeyError) as e:
        return fail(f"needs materialized samples, base_model and sae: {e}")
    return 0


def run_suite(args) -> int:
    from splat_cli.bench.report import render_markdown
    from splat_cli.bench.suite import run_suite as suite
    from splat_cli.common import progress

    home = splat_home(args.home)
    options = ("make_store", "small", "out", "repeats", "json_repeats", "load_seconds",
               "clients", "query_repeats", "encode_samples", "encode_repeats", "budget_mb",
               "scan_batches", "scan_repeats", "size_probes", "seed_report", "scratch")  # fmt: skip
    kwargs = {k: getattr(args, k) for k in options}
    kwargs["out_dir"] = kwargs.pop("out")
    try:
        report = suite(home, scales=tuple(args.scales), progress=progress, **kwargs)
    except (FileNotFoundError, KeyError) as e:
        return fail(f"needs a materialized home (or --make-store): {e}")
    print(render_markdown(report), end="")
    return 0


def run_faults(args) -> int:
    import tempfile

    from splat_cli.bench.faults import suite
    from splat_cli.common import progress

    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        report = suite.run_faults(Path(tmp), args.points, args.kinds, args.clients,
                                  args.stalled, args.seconds, progress)  # fmt: skip
    if args.out:
        suite.save(report, Path(args.out))
    print(suite.render(report), end="")
    return 1 if suite.failed(report) else 0

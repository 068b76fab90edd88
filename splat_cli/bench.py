"""`splat bench ...`: benchmarks that print measured figures (not tests)."""

from __future__ import annotations

from splat_cli.common import add_home_option, fail, print_json
from splat_core.config import splat_home


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks on the materialized assets")
    bench_sub = p.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    t = bench_sub.add_parser(
        "transpose", help="feature-store build: throughput and peak memory at 1x and 2x samples"
    )
    add_home_option(t)
    t.add_argument("--scales", type=int, nargs="+", default=[1, 2])
    t.add_argument("--budget-mb", type=int, default=256)
    t.add_argument("--json", action="store_true")
    t.set_defaults(run=run_transpose)
    q = bench_sub.add_parser("query", help="in-process query latency over every feature")
    add_home_option(q)
    q.add_argument("--repeats", type=int, default=1)
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_query)


def run_query(args) -> int:
    from splat_core.bench.query import bench_queries

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
    from splat_core.bench.transpose import bench_transpose

    home = splat_home(args.home)
    try:
        results = bench_transpose(home, args.scales, args.budget_mb)
    except (FileNotFoundError, KeyError) as e:
        return fail(f"needs materialized activations under {home}: {e}")
    if args.json:
        print_json(results)
        return 0
    print(f"{'scale':>5} {'samples':>10} {'nnz':>12} {'s':>7} {'nnz/s':>12} "
          f"{'traced MiB':>11} {'RSS MiB':>8}")  # fmt: skip
    for r in results:
        print(f"{r['scale']:>5} {r['n_samples']:>10,} {r['nnz']:>12,} {r['seconds']:>7.2f} "
              f"{r['nnz_per_s']:>12,} {r['traced_peak_bytes'] / 2**20:>11.1f} "
              f"{r['peak_rss_bytes'] / 2**20:>8.1f}")  # fmt: skip
    return 0

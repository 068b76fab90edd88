"""`splat bench faults`: every fault scenario on a fresh tiny home, one report.

The home is made first with `runs.FAST` (a whole run in about 30 s on 2 cores), through
`splat materialize` like every run after it; each scenario then works on its own copy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from splat_cli.bench.faults import damage, runs, scenarios
from splat_cli.bench.faults.hostile import hostile_load
from splat_cli.bench.http import api_server


def run_faults(
    root: Path, points=runs.POINTS, kinds=tuple(damage.KINDS), clients: int = 40,
    stalled: int = 10, seconds: float = 20.0, progress: Callable[[str], None] = print,
) -> dict:  # fmt: skip
    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    pristine = root / "pristine"
    if not (pristine / "GENERATION.json").exists():
        progress("materializing the tiny home every scenario starts from")
        made = runs.materialize(pristine, runs.FAST)
        if made.code != 0:
            raise RuntimeError(f"the starting home failed:\n{made.output[-2000:]}")
    ws = scenarios.Workspace(root, pristine, runs.FAST, progress)
    plan = [("kill -9 of a run (same config)",
             lambda: [scenarios.killed_runs(ws, False, list(points))]),
            ("kill -9 of a run (changed config)",
             lambda: [scenarios.killed_runs(ws, True, list(points))]),
            ("two concurrent runs", lambda: [scenarios.concurrent_runs(ws)]),
            ("a full disk", lambda: [scenarios.full_disk(ws)]),
            ("damaged files", lambda: scenarios.corruption(ws, list(kinds)))]  # fmt: skip
    rows = []
    for name, scenario in plan:
        try:
            rows += scenario()
        except Exception as e:  # a scenario that breaks must not lose the others' results
            progress(f"{name}: the scenario failed: {type(e).__name__}: {e}")
            rows.append({"fault": name, "failed": f"{type(e).__name__}: {e}"})
    progress(f"{clients} heavy and {stalled} stalled clients for {seconds:g} s")
    with api_server(ws.copy("hostile")) as url:
        load = hostile_load(url, clients, stalled, seconds)
    return {"rows": rows, "load": load, "seconds": round(time.perf_counter() - start, 1)}


def render(report: dict) -> str:
    rows = report["rows"]
    out = ["| fault | injected | answers | right | clear error | wrong | no answer | 5xx | "
           "rerun |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in rows:
        if "failed" in r:
            out.append(f"| {r['fault']} | | | | | | | | SCENARIO FAILED: {r['failed']} |")
            continue
        out.append(f"| {r['fault']} | {r['injected']} | {r['answers']:,} | {r['right']:,} | "
                   f"{r['error']:,} | {r['wrong']} | {r['no_answer']} | {r['server_errors']} "
                   f"| {r['rerun']} |")  # fmt: skip
    publishes = [r["rerun_answers"] for r in rows if "rerun_answers" in r]
    publishes += [r for r in rows if r["fault"].startswith("two concurrent") and "failed" not in r]
    total = {k: sum(p[k] for p in publishes) for k in ("answers", "right", "wrong",
                                                         "server_errors")}  # fmt: skip
    out += ["", f"Answers while new generations were published (reruns after kills, two "
            f"concurrent runs): {total['answers']:,} answers, {total['right']:,} right, "
            f"{total['wrong']} wrong, {total['server_errors']} 5xx."]  # fmt: skip
    load = report["load"]
    out += ["", f"{load['clients']} heavy clients ({load['heavy_body']['features']} features "
            f"x {load['heavy_body']['parts']} with {load['heavy_body']['examples']} examples "
            f"each, {load['heavy_solo_s']} s alone) and {load['stalled_clients']} stalled "
            f"clients for {load['seconds']:g} s:", "",
            "| request | idle median ms | idle p99 ms | loaded median ms | loaded p99 ms | "
            "not 200 |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name in ("health", "top20"):
        idle, busy = load["idle"][name], load[name]
        out.append(f"| {name} | {idle['median_ms']} | {idle['p99_ms']} | {busy['median_ms']} "
                   f"| {busy['p99_ms']} | {busy['not_200']} |")  # fmt: skip
    out += ["", f"Heavy requests: {load['heavy_requests']} sent, {load['completed']} completed "
            f"(slowest {load['completed_max_s']} s, bound {load['complete_bound_s']} s), "
            f"{load['refused']} refused with 503 + Retry-After (slowest {load['refused_max_s']}"
            f" s, bound {load['refuse_bound_s']} s), other answers: "
            f"{len(load['other_answers'])}; within bounds: {load['within_bounds']}. Stalled "
            f"bodies: answered {', '.join(load['stalled']['statuses'])} after at most "
            f"{load['stalled']['max_s']} s (timeout {load['stalled']['timeout_s']:g} s).",
            "", f"(whole suite: {report['seconds']} s)"]  # fmt: skip
    return "\n".join(out) + "\n"


def failed(report: dict) -> list[str]:
    """The scenarios that broke before they could report."""
    return [r["fault"] for r in report["rows"] if "failed" in r]


def save(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (out / "faults.md").write_text(render(report))

"""`splat data ...`: synthetic data and reference-format validation."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from splat_cli.common import add_profile_options, fail, print_json
from splat_core.builds.reference import ImportReport, ReferenceDataError, read_reference_dataset


def register(sub) -> None:
    data = sub.add_parser("data", help="generate, validate and import build datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    _register_validate(data_sub)
    _register_synth(data_sub)


# --- validate ----------------------------------------------------------------------------------


def _register_validate(data_sub) -> None:
    p = data_sub.add_parser(
        "validate",
        help="check a SplatNLP tokenized_data.csv against its vocab.json and weapon_vocab.json",
        description="Print every problem as file:line: reason (stderr), then a summary. "
        "Exit 0 if the data is valid, 1 otherwise.",
    )
    p.add_argument("--data", required=True, help="tokenized_data.csv (tab-separated)")
    p.add_argument("--vocab", required=True, help="vocab.json of the data file")
    p.add_argument("--weapon-vocab", required=True, help="weapon_vocab.json of the data file")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="also say how many rows an import would keep, and why it drops the rest",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(run=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    # Always read leniently: a validator reports every bad row, not just the first failure.
    # File-level problems (bad vocab, missing column, ...) still raise.
    report: ImportReport | None = None
    try:
        _, report = read_reference_dataset(
            args.data, args.vocab, args.weapon_vocab, skip_invalid=True
        )
        issues = report.issues
    except ReferenceDataError as e:
        issues = e.issues
    for issue in issues:
        print(issue, file=sys.stderr)

    if report is None:
        summary = f"{args.data}: not readable as reference data ({len(issues)} file-level issue(s))"
    elif not issues:
        summary = f"{args.data}: OK, {report.n_rows_read} valid rows"
    elif args.skip_invalid:
        why = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items()))
        summary = (
            f"{args.data}: would keep {report.n_valid} of {report.n_rows_read} rows; "
            f"skipped {report.n_skipped} ({why})"
        )
    else:
        summary = f"{args.data}: {len(issues)} invalid row(s) of {report.n_rows_read}"

    if args.json:
        doc = {"data": args.data, "valid": not issues}
        doc.update(report.to_dict() if report else {"issues": [asdict(i) for i in issues]})
        print_json(doc)
        print(summary, file=sys.stderr)  # keep stdout pure JSON
    else:
        print(summary)
    return 1 if issues else 0


# --- synth -------------------------------------------------------------------------------------


def _register_synth(data_sub) -> None:
    p = data_sub.add_parser(
        "synth",
        help="write the embedded synthetic dataset in SplatNLP's formats",
        description="Writes tokenized_data.csv, vocab.json, weapon_vocab.json and "
        "archetypes.parquet (the planted ground truth) into --out.",
    )
    p.add_argument("--out", required=True, help="output directory")
    add_profile_options(p)
    p.add_argument("--seed", type=int, default=None, help="generator seed (synth.seed)")
    p.add_argument("--n-builds", type=int, default=None, help="number of builds (synth.n_builds)")
    p.set_defaults(run=_run_synth)


def _run_synth(args: argparse.Namespace) -> int:
    from splat_core.builds.synth import generate_builds, write_synthetic_dataset
    from splat_core.pipeline.config import load_config  # imports torch: on use only

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"synth.seed={args.seed}")
    if args.n_builds is not None:
        overrides.append(f"synth.n_builds={args.n_builds}")
    try:
        config = load_config(args.profile, overrides)
        table = generate_builds(config.synth)
    except ValueError as e:
        return fail(str(e))
    paths = write_synthetic_dataset(args.out, table)
    print(f"wrote {len(table)} builds ({len(table.weapon_vocab)} weapons) to {args.out}")
    for name, path in paths.items():
        print(f"  {name:12} {path}")
    return 0

"""`splat bench sae-variants`: several SAE variants trained on one home's pooled vectors,
measured as the `sae` asset measures its SAE (splat_core/pipeline/sae_variants.py)."""

from __future__ import annotations

import json
from pathlib import Path

from splat_cli.common import add_home_option, add_profile_options, fail, print_json, progress
from splat_cli.render import table
from splat_core.store.homes import splat_home

# The five architectures at L0 ~16, the default profile's k (relu reaches it through its L1
# coefficient, jumprelu through its default tanh penalty; measured on the default profile:
# docs/bench/sae-variants-2026-12-01.md).
DEFAULT_VARIANTS = (
    "relu arch=relu l1_coeff=0.035",
    "topk arch=topk",
    "batchtopk arch=batchtopk",
    "jumprelu arch=jumprelu",
    "matryoshka arch=matryoshka",
)
COLUMNS = [("variant", "variant"), ("arch", "arch"), ("F", "n_features"),
           ("EV", "explained_variance"), ("loss rec.", "loss_recovered"), ("L0", "mean_l0"),
           ("dead", "dead_fraction"), ("AUROC min", "auroc_min"),
           ("AUROC med.", "auroc_median"), ("train s", "train_seconds"),
           ("passes", "passes")]  # fmt: skip


def register(bench_sub) -> None:
    p = bench_sub.add_parser(
        "sae-variants", help="train SAE variants on the home's pooled vectors and compare them"
    )
    add_home_option(p)
    add_profile_options(p)
    p.add_argument("--variant", action="append", default=[], metavar="'NAME KEY=VALUE ...'",
                   help="a variant, e.g. 'wide arch=topk features=1024 k=16' (repeatable; "
                        "default: the five architectures)")  # fmt: skip
    p.add_argument("--out", default=None, help="also write the rows here (JSON)")
    p.add_argument("--save-dir", default=None, help="save each variant's SAE in DIR/<name>")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.pipeline.sae_variants import parse_variant, variant_table

    try:
        variants = [parse_variant(s) for s in args.variant or DEFAULT_VARIANTS]
        rows = variant_table(splat_home(args.home), args.profile, args.overrides, variants,
                             progress, args.save_dir)  # fmt: skip
    except (ValueError, FileNotFoundError) as e:
        return fail(str(e))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    if args.json:
        print_json(rows)
    else:
        table([{**r, "passes": "yes" if r["passes"] else "no"} for r in rows], COLUMNS)
    return 0

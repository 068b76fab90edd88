"""`splat export report --features 12,40,109 [-o report.html] [--title ...]`: one
self-contained HTML page of chosen features (inline CSS and SVG, nothing fetched), with the
exact asset versions it was made from (splat_core/investigate/report.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from splat_cli.common import add_home_option, add_sae_option, command, positive_int

DEFAULT_OUTPUT = "report.html"


def feature_list(text: str) -> list[int]:
    """argparse type: comma-separated feature ids, e.g. '12,40,109'."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        ids = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of ids") from None
    if not ids:
        raise argparse.ArgumentTypeError("give at least one feature id")
    return ids


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="a self-contained HTML report of chosen features",
        description="Write one HTML file (inline CSS and SVG charts, no script, nothing "
        "fetched) with each feature's label, best explanation, statistics, histogram, tokens, "
        "weapons, output effects and top examples, and the asset versions it came from.",
    )
    p.add_argument("--features", required=True, type=feature_list, metavar="IDS",
                   help="comma-separated feature ids, e.g. 12,40,109")  # fmt: skip
    add_home_option(p)
    add_sae_option(p)
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, help="the HTML file to write")
    p.add_argument("--title", default=None, help="the page's title")
    p.add_argument("--top", type=positive_int, default=10, help="tokens, weapons per table")
    p.add_argument("--examples", type=int, default=10, help="top examples per feature")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=command(write_report, _render))


def default_title(ids: list[int]) -> str:
    return "splat feature report: feature" + "s" * (len(ids) > 1) + " " + ", ".join(map(str, ids))


def write_report(reader, a) -> dict:
    """Gather, render and write the page atomically; what was written."""
    from splat_core.atomic import atomic_file
    from splat_core.investigate.report import feature_report, render_report_html

    if a.examples < 0:
        raise ValueError(f"--examples must be >= 0, got {a.examples}")
    report = feature_report(reader, a.features, top_k=a.top, n_examples=a.examples)
    ids = [f["feature_id"] for f in report["features"]]
    page = render_report_html(report, a.title or default_title(ids)).encode()
    path = Path(a.output)
    with atomic_file(path) as tmp:
        tmp.write_bytes(page)
    prov = report["provenance"]
    return {"path": str(path), "bytes": len(page), "features": ids,
            "generation": prov["generation"], "data_version": prov["data_version"]}  # fmt: skip


def _render(out: dict, a) -> None:
    print(f"wrote {out['path']} ({out['bytes']:,} bytes; {len(out['features'])} features, "
          f"data version {out['data_version']})")  # fmt: skip

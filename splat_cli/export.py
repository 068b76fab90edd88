"""`splat export sae --format saelens DIR` (an SAE SAELens loads) and `splat export report`
(a self-contained HTML page of chosen features). Each subcommand lives in its own module."""

from __future__ import annotations

from splat_cli import export_report, export_sae


def register(sub) -> None:
    p = sub.add_parser("export", help="write an SAE or a report for other tools and readers")
    s = p.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    export_sae.register(s)
    export_report.register(s)

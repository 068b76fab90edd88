"""The `splat` command line: one entry point, one module per command group."""

from __future__ import annotations

import argparse
import os
import sys

from splat_cli import (
    bench,
    causal,
    compare,
    data,
    demo,
    examples,
    explain,
    export,
    info,
    investigate,
    labels,
    materialize,
    mcp_server,
    sae,
    serve,
    sql,
    steer,
    sweep,
    validate,
    verify,
    whatif,
)

COMMAND_GROUPS = (
    data,
    materialize,
    sae,
    demo,
    info,
    verify,
    serve,
    bench,
    investigate,
    examples,
    explain,
    export,
    sweep,
    whatif,
    steer,
    validate,
    causal,
    compare,
    mcp_server,
    labels,
    sql,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="splat", description="SAE interpretability of a Splatoon 3 gear-build model."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `splat ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

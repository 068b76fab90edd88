"""Options and helpers shared by command groups."""

from __future__ import annotations

import argparse
import json
import sys


def add_profile_options(parser) -> None:
    parser.add_argument("--profile", default="default", help="tiny | default | seed")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override one config value (repeatable), e.g. --set train.epochs=2",
    )


def add_home_option(parser) -> None:
    parser.add_argument(
        "--home", default=None, help="SPLAT_HOME (default: $SPLAT_HOME, else ./splat_home)"
    )


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (counts, repeats, sizes)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    print(f"splat: error: {message}", file=sys.stderr)
    return code


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

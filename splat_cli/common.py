"""Options and helpers shared by command groups."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from splat_core.store.homes import splat_home


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


def add_sae_option(parser) -> None:
    parser.add_argument(
        "--sae", default="default", metavar="NAME",
        help="the SAE variant to read (default: the default one; `splat info` lists them)",
    )  # fmt: skip


def sae_of(args) -> str:
    """The SAE variant a command's --sae names (the default one without the option)."""
    return getattr(args, "sae", None) or "default"


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


# --- feature commands: `splat <command> FEATURE [...] [--json]` ----------------------------


def investigation():
    """splat_core.investigate, imported on use (it loads torch; `splat --help` need not)."""
    from splat_core import investigate

    return investigate


def feature_parser(sub, name: str, help_: str):
    p = sub.add_parser(name, help=help_, description=help_)
    p.add_argument("feature", type=int, help="feature id")
    add_home_option(p)
    add_sae_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def add_build_options(p, verb: str) -> None:
    """--weapon and --ability: one build instead of the feature's examples."""
    p.add_argument("--weapon", default=None, help=f"{verb} this build instead of examples")
    p.add_argument(
        "--ability",
        action="append",
        default=[],
        metavar="NAME[=AP]",
        help="the build's abilities (main-only: just the name)",
    )


def add_example_options(p, n: int, verb: str, seed: bool = True) -> None:
    """--examples, --source (top or core) and --seed: which of the feature's examples."""
    p.add_argument("--examples", type=positive_int, default=n, help=f"how many examples to {verb}")
    p.add_argument(
        "--source",
        choices=("top", "core"),
        default="top",
        help="top examples, or seeded random ones from the core region",
    )
    if seed:
        p.add_argument("--seed", type=int, default=0)


def add_quantile(p) -> None:
    p.add_argument(
        "--high-quantile",
        type=float,
        default=0.9,
        metavar="Q",
        help="high group = firing samples >= this quantile of the nonzero "
        "activations, a fraction (0.9 = the 90th percentile)",
    )


def command(compute: Callable, render: Callable) -> Callable:
    """A run function: open the reader (of the --sae variant, where the command has the
    option), compute, print; known errors (an SAE variant the home does not serve too) exit
    2 with a message, damaged data exits 1 naming the file."""

    def run(args) -> int:
        from splat_core.query import DamagedError, Reader

        try:
            with Reader.open(splat_home(args.home), sae_of(args)) as reader:
                result = compute(reader, args)
        except (KeyError, ValueError, FileNotFoundError, IndexError) as e:
            return fail(e.args[0] if isinstance(e, KeyError) and e.args else str(e))
        except DamagedError as e:
            return fail(f"damaged data: {e} (see `splat verify`)", code=1)
        try:
            print_json(result) if args.json else render(result, args)
            sys.stdout.flush()
        except BrokenPipeError:  # `splat overview 1 | head`: the reader left, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

    return run

"""`splat verify`: check every file of the served generation against its checksums."""

from __future__ import annotations

from splat_cli.common import add_home_option, print_json
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check every file of the served data against its checksums (exit 1 on damage)",
    )
    add_home_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.store.verify import verify_home

    report = verify_home(splat_home(args.home))
    if args.json:
        print_json(report)
    else:
        print(f"generation {report['generation'] or '(none: CURRENT pointers)'}: "
              f"{report['checked']} versions checked, {report['damaged']} damaged")  # fmt: skip
        for name, v in report["versions"].items():
            state = "DAMAGED" if v["problems"] else "no checksums" if v.get("unchecked") else "ok"
            print(f"  {state:12} {name} ({v['files']} files)")
            for problem in v["problems"][:20]:
                print(f"               {problem}")
    return 1 if report["damaged"] else 0

"""`splat sql "SELECT ..."`: SQL (DuckDB) over the served generation's tables and the labels.

Views (splat_core/query/sql.py): one per Parquet table (`feature_stats`, `feature_tokens`,
..., `samples`, `builds`, `weapons`), `tokens` (the vocabulary with each token's ability and
rung) and `labels`; `splat sql --schema` lists them with their columns. The connection is
read-only and reaches no other file. Output: an aligned table (at most --max-rows rows),
`--json` (a list of row objects) or `--csv` (every row). SQL that DuckDB refuses exits 2 with
its message; damaged data exits 1.
"""

from __future__ import annotations

import csv
import os
import sys

from splat_cli import render
from splat_cli.common import add_home_option, add_sae_option, fail, positive_int, print_json, sae_of
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser(
        "sql",
        help="SQL over every table of the served data (DuckDB, read-only)",
        description="SQL over every table of the served data (DuckDB, read-only). "
        "`splat sql --schema` lists the views and their columns.",
    )
    p.add_argument("query", nargs="?", help="one SQL query; - reads it from stdin")
    add_home_option(p)
    add_sae_option(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a list of row objects")
    out.add_argument("--csv", action="store_true", help="print CSV with a header")
    p.add_argument("--schema", action="store_true", help="list the views and their columns")
    p.add_argument("--max-rows", type=positive_int, default=200, metavar="N",
                   help="rows the table shows (--json and --csv print all)")  # fmt: skip
    p.set_defaults(run=run)


def run(args) -> int:
    from splat_core.query import DamagedError, UnknownSAEError, sql

    if args.schema == bool(args.query):
        return fail("give a query, or --schema")
    text = sys.stdin.read() if args.query == "-" else args.query
    home = splat_home(args.home)
    try:
        with sql.connect(home, sae=sae_of(args)) as con:
            if args.schema:
                return _print_schema(sql.schema(con), args)
            if len(sql.schema(con)) <= 1:  # the labels only
                return fail(f"nothing is materialized under {home}; run `splat materialize`")
            table = sql.query(con, text)
    except (sql.SQLError, UnknownSAEError) as e:
        return fail(str(e))
    except DamagedError as e:
        return fail(f"damaged data: {e} (see `splat verify`)", code=1)
    rows = sql.rows(table)
    try:
        if args.json:
            print_json(rows)
        elif args.csv:
            _print_csv(rows, table.column_names)
        else:
            _print_table(rows, args.max_rows)
        sys.stdout.flush()
    except BrokenPipeError:  # `splat sql ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _print_schema(schema: dict, args) -> int:
    if args.json:
        print_json(schema)
        return 0
    for view, entry in schema.items():
        print(f"{view}: {entry['description']}")
        for c in entry["columns"]:
            print(f"  {c['name']:24} {c['type']}")
    return 0


def _print_table(rows: list[dict], max_rows: int) -> None:
    if not rows:
        print("(no rows)")
        return
    render.table(rows[:max_rows], [(k, k) for k in rows[0]])
    n = len(rows)
    shown = f", the first {max_rows:,} shown" if n > max_rows else ""
    print(f"({n:,} row{'s' if n != 1 else ''}{shown})")


def _print_csv(rows: list[dict], names: list[str]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(list(rows[0]) if rows else names)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.values()])

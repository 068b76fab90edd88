"""The three researcher queries of tests/core/query/test_sql.py on one or more homes, as
Markdown: DuckDB's answer (`splat_core.query.sql`) and whether pandas, computing the same
from the generation's Parquet files, gives the same rows.

    python scripts/sql_report.py HOME [HOME ...] > docs/bench/sql-queries-<date>.md
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' pandas oracles

from splat_core.query import DamagedError, Reader, sql  # noqa: E402
from tests.core.query import test_sql as t  # noqa: E402

CASES = [
    ("Top enhancer token of the Swim Speed Up family, density 1-10%, unlabelled, by max",
     t.SWIM_SPEED, lambda r: t.pandas_swim_speed(r, set())),
    ("Top weapon class 'shooter', at least 500 activations, by activations",
     t.SHOOTERS, t.pandas_shooters),
    ("Dense features (density >= 5%) pushing ink_saver_main_57 up the most",
     t.PUSH_UP, t.pandas_push_up),
]  # fmt: skip


def fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def report(homes: list[str]) -> str:
    out = ["# `splat sql`: three researcher queries, checked against pandas\n",
           "Each answer is DuckDB's (`splat_core.query.sql`), compared with the same "
           "computation in pandas on the Parquet files of the same generation "
           "(tests/core/query/test_sql.py). Made by `scripts/sql_report.py`.\n"]  # fmt: skip
    for home in homes:
        with Reader.open(home) as reader, sql.connect(reader) as con:
            size = f"{reader.n_features} features, {reader.n_samples:,} samples"
            out.append(f"\n## Home `{home}` (generation {reader.generation}, {size})\n")
            for title, text, oracle in CASES:
                table = sql.query(con, text)
                rows = [tuple(r.values()) for r in sql.rows(table)]
                same = rows == oracle(reader)
                out.append(f"\n### {title}\n\n```sql{text}```\n")
                out.append("| " + " | ".join(table.column_names) + " |")
                out.append("|" + "---|" * len(table.column_names))
                out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
                out.append(f"\n{len(rows)} rows; pandas gives the same rows: **{same}**\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        print(report(sys.argv[1:]), end="")
    except (OSError, ValueError, DamagedError) as e:  # no home there, or a damaged one
        sys.exit(f"sql_report: {e}")

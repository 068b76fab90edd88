"""`splat sql`: --json and --csv are query/sql.py's answer, the table prints, --schema lists the
views, and bad SQL or an empty home exit 2 with the message (no traceback)."""

from __future__ import annotations

import csv
import io
import json

from splat_cli.main import main
from splat_core.query import sql

QUERY = "SELECT feature_id, nnz, density FROM feature_stats WHERE nnz > 0 ORDER BY nnz DESC LIMIT 5"


def splat(capsys, home, *argv) -> tuple[int, str, str]:
    code = main(["sql", *map(str, argv), "--home", str(home)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_and_csv_are_the_answer(capsys, tiny_home):
    expected = sql.rows(sql.run(tiny_home, QUERY))
    code, out, err = splat(capsys, tiny_home, QUERY, "--json")
    assert code == 0, err
    assert json.loads(out) == expected and len(expected) == 5
    code, out, _ = splat(capsys, tiny_home, QUERY, "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["feature_id"]) for r in rows] == [r["feature_id"] for r in expected]
    assert [float(r["density"]) for r in rows] == [r["density"] for r in expected]


def test_table_and_schema(capsys, tiny_home):
    code, out, _ = splat(capsys, tiny_home, QUERY, "--max-rows", 3)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["feature_id", "nnz", "density"]
    assert len(lines) == 5 and lines[-1] == "(5 rows, the first 3 shown)"
    code, out, _ = splat(capsys, tiny_home, "--schema", "--json")
    schema = json.loads(out)
    assert code == 0 and "feature_stats" in schema and "labels" in schema
    assert {"name": "density", "type": "DOUBLE"} in schema["feature_stats"]["columns"]
    code, out, _ = splat(capsys, tiny_home, "--schema")
    assert code == 0 and "feature_stats: Per feature" in out


def test_errors_exit_2_with_the_message(capsys, tiny_home, tmp_path):
    code, out, err = splat(capsys, tiny_home, "SELECT nope FROM feature_stats")
    assert code == 2 and not out
    assert err.startswith("splat: error: Binder Error") and "nope" in err
    assert "Traceback" not in err
    code, _, err = splat(capsys, tiny_home, f"COPY feature_stats TO '{tmp_path}/x.csv'")
    assert code == 2 and "Permission Error" in err and not (tmp_path / "x.csv").exists()
    code, _, err = splat(capsys, tmp_path / "empty", "SELECT 1")
    assert code == 2 and "nothing is materialized" in err
    code, _, err = splat(capsys, tiny_home)
    assert code == 2 and "give a query" in err

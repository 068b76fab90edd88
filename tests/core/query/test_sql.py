"""SQL over a home (query/sql.py): the views are the generation's files exactly, checked and
typed as the contract and the Parquet schemas say; the connection reaches nothing else; and
three researcher queries give what pandas computes from the Parquet files directly."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from splat_core.labels import LabelStore
from splat_core.query import DamagedError, Reader, sql
from splat_core.store.contract import ASSETS, SPECS

# --- three researcher queries (answers on a tiny and a default home: docs/bench/sql-queries-*) -

# 1. Features whose top enhancer token is of the Swim Speed Up family, firing on 1% to 10% of
#    samples, not labelled yet: the strongest first.
SWIM_SPEED = """
SELECT s.feature_id, t.token, s.density, s.max
FROM feature_stats s
JOIN feature_tokens t ON t.feature_id = s.feature_id AND t.kind = 'enhancer' AND t.rank = 1
JOIN tokens k ON k.token_id = t.token_id
LEFT JOIN labels l ON l.feature_id = s.feature_id
WHERE k.ability = 'swim_speed_up' AND s.density BETWEEN 0.01 AND 0.10 AND l.feature_id IS NULL
ORDER BY s.max DESC, s.feature_id
"""
# 2. Features whose top weapon class (among their top activations) is the shooters, firing on
#    at least 500 samples: the most frequent first.
SHOOTERS = """
SELECT w.feature_id, w.rate_top, s.nnz
FROM feature_weapons w JOIN feature_stats s USING (feature_id)
WHERE w.kind = 'class' AND w.rank = 1 AND w.key = 'shooter' AND s.nnz >= 500
ORDER BY s.nnz DESC, w.feature_id
"""
# 3. Among dense features (density >= 5%), those that push Ink Saver (Main) 57 AP up the most
#    (the token among their top positive logit effects).
PUSH_UP = """
SELECT i.feature_id, i.value, i.rank, s.density
FROM feature_influence i JOIN feature_stats s USING (feature_id)
WHERE i.sign = '+' AND i.token = 'ink_saver_main_57' AND s.density >= 0.05
ORDER BY i.value DESC, i.feature_id
LIMIT 10
"""


def parquet(reader: Reader, asset: str) -> pd.DataFrame:
    return pd.read_parquet(reader.path(asset) / f"{asset}.parquet")


def family(token: str) -> str:
    """The ability of a token, independently of the domain code: rung tokens end in _<AP>."""
    stem, _, rung = token.rpartition("_")
    return stem if rung.isdigit() else token


def pandas_swim_speed(reader: Reader, labelled: set[int]) -> list[tuple]:
    stats, tokens = parquet(reader, "feature_stats"), parquet(reader, "feature_tokens")
    top = tokens[(tokens["kind"] == "enhancer") & (tokens["rank"] == 1)]
    m = top.merge(stats, on="feature_id")
    m = m[(m["token"].map(family) == "swim_speed_up") & m["density"].between(0.01, 0.10)
          & ~m["feature_id"].isin(labelled)]  # fmt: skip
    m = m.sort_values(["max", "feature_id"], ascending=[False, True])
    return list(m[["feature_id", "token", "density", "max"]].itertuples(index=False, name=None))


def pandas_shooters(reader: Reader) -> list[tuple]:
    stats, weapons = parquet(reader, "feature_stats"), parquet(reader, "feature_weapons")
    top = weapons[(weapons["kind"] == "class") & (weapons["rank"] == 1)]
    m = top[top["key"] == "shooter"].merge(stats, on="feature_id")
    m = m[m["nnz"] >= 500].sort_values(["nnz", "feature_id"], ascending=[False, True])
    return list(m[["feature_id", "rate_top", "nnz"]].itertuples(index=False, name=None))


def pandas_push_up(reader: Reader) -> list[tuple]:
    stats, infl = parquet(reader, "feature_stats"), parquet(reader, "feature_influence")
    m = infl[(infl["sign"] == "+") & (infl["token"] == "ink_saver_main_57")].merge(
        stats, on="feature_id"
    )
    m = m[m["density"] >= 0.05].sort_values(["value", "feature_id"], ascending=[False, True])
    m = m[["feature_id", "value", "rank", "density"]].head(10)
    return list(m.itertuples(index=False, name=None))


def answer(con, text: str) -> list[tuple]:
    return [tuple(r.values()) for r in sql.rows(sql.query(con, text))]


def test_swim_speed_query_matches_pandas_and_skips_labelled_features(home):
    with Reader.open(home) as reader, sql.connect(reader) as con:
        got = answer(con, SWIM_SPEED)
        assert got == pandas_swim_speed(reader, set())
        assert got, "the tiny home has Swim Speed Up features in that density range"
    LabelStore.open(home).set(got[0][0], name="swim speed", category="mechanical")
    with Reader.open(home) as reader, sql.connect(reader) as con:
        after = answer(con, SWIM_SPEED)
        assert after == pandas_swim_speed(reader, {got[0][0]}) == got[1:]


def test_shooter_and_influence_queries_match_pandas(tiny_reader):
    with sql.connect(tiny_reader) as con:
        shooters, push = answer(con, SHOOTERS), answer(con, PUSH_UP)
    assert shooters and shooters == pandas_shooters(tiny_reader)
    assert push and push == pandas_push_up(tiny_reader)
    assert [p[1] for p in push] == sorted((p[1] for p in push), reverse=True)


# --- the views ------------------------------------------------------------------------------


def test_one_view_per_parquet_file_with_its_columns_and_description(tiny_reader):
    with sql.connect(tiny_reader) as con:
        schema = sql.schema(con)
    files = {view: (asset, file) for view, asset, file in sql.parquet_views()}
    expected = list(files)  # in contract order; tokens beside the vocab's weapons; labels last
    expected.insert(next(i for i, (a, _) in enumerate(files.values()) if a.name == "vocab") + 1,
                    sql.TOKENS_VIEW)  # fmt: skip
    assert list(schema) == [*expected, sql.LABELS_VIEW]
    assert {a.name for a, _ in files.values()} == {
        a.name for a in ASSETS if any(f.endswith(".parquet") for f in a.files)
    }
    for view, (asset, file) in files.items():
        directory = (list(tiny_reader.partitions(asset.name).values())[0] if asset.partitioned
                     else tiny_reader.path(asset.name))  # fmt: skip
        names = pq.read_schema(directory / file).names
        assert [c["name"] for c in schema[view]["columns"]] == names
        doc = schema[view]["description"]
        assert doc.startswith(asset.description) if view == asset.name else asset.name in doc
        assert doc.endswith("(Every shard.)") == asset.partitioned
    assert schema["feature_stats"]["description"] == SPECS["feature_stats"].description
    label_cols = [c["name"] for c in schema["labels"]["columns"]]
    assert label_cols[:3] == ["feature_id", "name", "category"]


def test_views_read_exactly_the_generations_files(tiny_reader):
    views = sql.views(tiny_reader)
    for view, asset, file in sql.parquet_views():
        dirs = (tiny_reader.partitions(asset.name).values() if asset.partitioned
                else [tiny_reader.path(asset.name)])  # fmt: skip
        assert views[view][1].files == [str(d / file) for d in dirs]
    assert sql.views(tiny_reader) is views  # checked and made once per snapshot
    with sql.connect(tiny_reader) as con:
        n = sql.query(con, "SELECT count(*) AS n FROM samples").column("n")[0].as_py()
    assert n == tiny_reader.n_samples  # every shard


def test_tokens_view_names_abilities_and_rungs(tiny_reader):
    with sql.connect(tiny_reader) as con:
        rows = {r["token"]: r for r in sql.rows(sql.query(con, "SELECT * FROM tokens"))}
    vocab = json.loads((tiny_reader.path("vocab") / "vocab.json").read_text())
    assert {t: r["token_id"] for t, r in rows.items()} == vocab
    assert rows["swim_speed_up_21"]["ability"] == "swim_speed_up"
    assert rows["swim_speed_up_21"]["rung"] == 21
    assert rows["ninja_squid"]["rung"] is None and rows["<PAD>"]["ability"] is None


def test_labels_view_is_the_store_when_the_connection_opens(home):
    with sql.connect(home) as con:
        empty = sql.query(con, "SELECT * FROM labels")
    assert empty.num_rows == 0 and "confidence" in empty.column_names
    LabelStore.open(home).set(3, name="three", category="tactical", confidence=0.5)
    with sql.connect(home) as con:
        got = sql.rows(sql.query(con, "SELECT feature_id, name, category, confidence FROM labels"))
    assert got == [{"feature_id": 3, "name": "three", "category": "tactical", "confidence": 0.5}]


def test_features_where_filters_stats_and_labels(home):
    LabelStore.open(home).set(5, name="five")
    with Reader.open(home) as reader, sql.connect(reader) as con:
        stats = parquet(reader, "feature_stats")
        mid = sql.features_where(con, "density BETWEEN 0.01 AND 0.1 -- a comment")
        assert mid == sorted(stats[stats["density"].between(0.01, 0.1)]["feature_id"])
        assert sql.features_where(con, "name = 'five'") == [5]
        assert 5 not in sql.features_where(con, "name IS NULL")
        with pytest.raises(sql.SQLError, match="nope"):
            sql.features_where(con, "nope > 1")


# --- locked down ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('{file}')",
        "SELECT * FROM read_parquet('{parquet}')",
        "COPY (SELECT 1 AS a) TO '{parquet}' (FORMAT parquet, USE_TMP_FILE false)",
        "COPY feature_stats TO '{tmp}/out.csv'",
        "ATTACH '{tmp}/other.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM secret_frame",
    ],
)
def test_the_connection_reaches_no_file_and_cannot_be_unlocked(tiny_reader, tmp_path, statement):
    secret_frame = pd.DataFrame({"a": [1]})  # noqa: F841 (a Python variable SQL must not see)
    file = tmp_path / "secret.csv"
    file.write_text("a\n1\n")
    target = tiny_reader.path("feature_stats") / "feature_stats.parquet"
    before = target.read_bytes()
    with sql.connect(tiny_reader) as con, pytest.raises(sql.SQLError):
        sql.query(con, statement.format(file=file, parquet=target, tmp=tmp_path))
    assert target.read_bytes() == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.db").exists()


def test_bad_sql_is_a_clear_error(tiny_reader):
    with sql.connect(tiny_reader) as con:
        with pytest.raises(sql.SQLError, match="syntax error"):
            sql.query(con, "SELEC 1")
        with pytest.raises(sql.SQLError, match="no_such_view"):
            sql.query(con, "SELECT * FROM no_such_view")
        assert sql.query(con, "SELECT 1 AS one").column("one").to_pylist() == [1]  # still usable


def test_a_damaged_table_is_refused(home):
    with Reader.open(home) as reader:
        target = reader.path("feature_stats") / "feature_stats.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    with pytest.raises(DamagedError, match="feature_stats"):
        sql.connect(home)


def test_rows_keep_repeated_names_and_plain_numbers():
    con = duckdb.connect()
    table = con.execute("SELECT 1 AS a, 2 AS a, 3 AS a, sum(x) AS s, [1, 2] AS l "
                        "FROM range(4) t(x)").to_arrow_table()  # fmt: skip
    assert sql.rows(table) == [{"a": 1, "a_2": 2, "a_3": 3, "s": 6, "l": [1, 2]}]
    assert type(sql.rows(table)[0]["s"]) is int


def test_run_opens_a_home_by_path(tiny_home, tiny_reader):
    got = sql.run(tiny_home, "SELECT max(feature_id) + 1 AS n FROM feature_stats")
    assert got.column("n")[0].as_py() == tiny_reader.n_features

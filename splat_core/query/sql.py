"""SQL over a home with DuckDB: a view of every Parquet table of one generation, the ability
vocabulary and the labels, on a connection that can reach nothing else.

    con = sql.connect(home)              # or a Reader/Snapshot: its generation exactly
    sql.query(con, "SELECT ... FROM feature_stats JOIN labels USING (feature_id)")

Views are named by their file in the asset contract (`feature_stats`, ..., `samples` over
every shard, `builds`, `weapons`: the vocab asset's weapon table), plus `tokens` (vocab.json
with each token's ability and rung) and `labels` (the label store when the connection
opens: labels are not versioned). A connection sees one SAE variant: its per-SAE tables
(`feature_stats` is that variant's) and its label store, beside the shared ones. Each view's
comment is its asset's description; `schema(con)` lists the views with their columns and
types. Files are checked against their version's checksums once per snapshot, as the Reader
does, and DuckDB scans them through Arrow datasets: DuckDB itself runs without file access
(no read_csv, COPY, ATTACH, INSTALL, spilling) and its configuration is locked, so SQL can
neither write nor read other files.
A connection is one thread's: open one per use (it is cheap once the snapshot checked the
files).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from splat_core.domain.vocab import SPECIAL, Vocab, token_info
from splat_core.labels import LabelStore, label_table
from splat_core.query.errors import MissingAssetError
from splat_core.query.snapshot import Snapshot
from splat_core.store.artifacts import verified
from splat_core.store.contract import ASSETS, DEFAULT_SAE, VOCAB_JSON, AssetSpec

# Locked at connect: Arrow scans need no file access; python_enable_replacements keeps
# Python variables of the caller from being read as tables.
CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "python_enable_replacements": False,
    "temp_directory": "",
    "lock_configuration": True,
}
TOKENS_VIEW = "tokens"
TOKENS_DOC = "The ability vocabulary (vocab.json): token id, token, ability (family) and AP rung."
LABELS_VIEW = "labels"
LABELS_DOC = "Feature labels, as the label store holds them when the connection opened."


class SQLError(ValueError):
    """SQL that DuckDB refused (syntax, unknown view or column, ...): its message."""


def parquet_views() -> list[tuple[str, AssetSpec, str]]:
    """(view, asset, file) of every Parquet file of the contract; a view is named by its file."""
    return [(Path(f).stem, a, f) for a in ASSETS for f in a.files if f.endswith(".parquet")]


def views(snapshot: Snapshot) -> dict[str, tuple[str, object]]:
    """View -> (description, Arrow data) of the snapshot's assets (its SAE variant's per-SAE
    ones), files checked; computed once per version of the assets. Assets the generation
    lacks have no view."""
    assets = tuple(dict.fromkeys(a.name for _, a, _ in parquet_views()))
    return snapshot.cached("sql:views", assets, lambda: _load_views(snapshot))


def _load_views(snapshot: Snapshot) -> dict[str, tuple[str, object]]:
    out: dict[str, tuple[str, object]] = {}
    for view, asset, file in parquet_views():
        try:
            dirs = _directories(snapshot, asset)
        except MissingAssetError:
            continue
        for d in dirs:
            verified(d)
        data = ds.dataset([str(d / file) for d in dirs], format="parquet")
        doc = asset.description if view == asset.name else f"{file} of the {asset.name} asset."
        doc += " (Every shard.)" if asset.partitioned else ""
        out[view] = (doc, data)
        if asset.name == "vocab":
            out[TOKENS_VIEW] = (TOKENS_DOC, token_table(Vocab.from_json(dirs[0] / VOCAB_JSON)))
    return out


def _directories(snapshot: Snapshot, asset: AssetSpec) -> list[Path]:
    if asset.partitioned:
        return list(snapshot.partitions(asset.name).values())
    return [snapshot.path(asset.name)]


def token_table(vocab: Vocab) -> pa.Table:
    """token_id, token, ability, rung (null for main-only abilities and <NULL>/<PAD>)."""
    ids = sorted(vocab.id_to_token)
    tokens = [vocab.id_to_token[i] for i in ids]
    info = [None if t in SPECIAL else token_info(t) for t in tokens]
    return pa.table({
        "token_id": pa.array(ids, pa.int32()),
        "token": tokens,
        "ability": [x.ability if x else None for x in info],
        "rung": pa.array([x.rung if x else None for x in info], pa.int32()),
    })  # fmt: skip


def connect(
    source: Snapshot | str | Path, labels: bool = True, sae: str = DEFAULT_SAE
) -> duckdb.DuckDBPyConnection:
    """A locked DuckDB connection with the views of `source` (a home: SAE variant `sae` of
    its served generation; a Reader or Snapshot: the generation and variant it reads)."""
    snapshot = source if isinstance(source, Snapshot) else Snapshot.open(source, sae)
    tables = dict(views(snapshot))
    if labels:
        store = LabelStore.open(snapshot.home, snapshot.sae)
        tables[LABELS_VIEW] = (LABELS_DOC, label_table(store.all()))
    con = duckdb.connect(":memory:", config=CONFIG)
    for name, (doc, data) in tables.items():
        con.register(name, data)
        con.execute(f"COMMENT ON VIEW {name} IS {_literal(doc)}")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def query(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pa.Table:
    """The answer of `sql` (with `?` or `$name` parameters from `params`) as an Arrow table;
    SQLError with DuckDB's message if it fails."""
    try:
        result = con.execute(sql, params)
        return result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.arrow()
    except duckdb.Error as e:
        raise SQLError(str(e)) from None


def run(source: Snapshot | str | Path, sql: str) -> pa.Table:
    """`query` on a connection of its own."""
    with connect(source) as con:
        return query(con, sql)


def schema(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """{view: {"description", "columns": [{"name", "type"}]}}, views in the order made."""
    rows = con.execute(
        "SELECT v.view_name, v.comment, c.column_name, c.data_type"
        " FROM duckdb_views() v JOIN duckdb_columns() c ON c.table_oid = v.view_oid"
        " WHERE NOT v.internal ORDER BY v.view_oid, c.column_index"
    ).fetchall()
    out: dict[str, dict] = {}
    for view, doc, column, dtype in rows:
        entry = out.setdefault(view, {"description": doc, "columns": []})
        entry["columns"].append({"name": column, "type": dtype})
    return out


def rows(table: pa.Table) -> list[dict]:
    """Row objects: repeated column names get a suffix (`a`, `a_2`) instead of being lost;
    DuckDB's decimals (SUM of integers) become ints or floats, for JSON."""
    seen: dict[str, int] = {}
    names = []
    for n in table.column_names:
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    columns = [_plain(c.to_pylist()) for c in table.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _plain(values: list) -> list:
    return [(int(v) if v == v.to_integral_value() else float(v)) if isinstance(v, Decimal)
            else v for v in values]  # fmt: skip


def features_where(con: duckdb.DuckDBPyConnection, where: str) -> list[int]:
    """Feature ids whose row of feature_stats joined with its label (name, category, ...,
    null when unlabelled) satisfies the SQL condition `where`, ascending."""
    sql = (f"SELECT feature_id FROM feature_stats LEFT JOIN {LABELS_VIEW} USING (feature_id)"
           f" WHERE (\n{where}\n) ORDER BY feature_id")  # fmt: skip
    return [int(f) for f in query(con, sql).column(0).to_pylist()]

"""The `duckdb` resource: registered with the definitions, and an asset that asks for it gets
the read-only SQL views of the home (splat_core/query/sql.py)."""

from __future__ import annotations

import dagster as dg

from splat_assets import definitions
from splat_assets.resources import DuckDBResource, SplatSettings


def test_the_definitions_hold_a_duckdb_resource_on_their_home(tiny_home):
    defs = definitions.build_definitions(SplatSettings(home=str(tiny_home), profile="tiny"))
    resource = defs.resources["duckdb"]
    assert isinstance(resource, DuckDBResource) and resource.home == str(tiny_home)


def test_an_asset_queries_the_home_with_it(tiny_home, tiny_reader):
    @dg.asset
    def dense_features(duckdb: DuckDBResource) -> list[int]:
        with duckdb.get_connection() as con:
            rows = con.execute(
                "SELECT feature_id FROM feature_stats WHERE density >= 0.05 ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    result = dg.materialize_to_memory(
        [dense_features], resources={"duckdb": DuckDBResource(home=str(tiny_home))}
    )
    assert result.success
    stats = tiny_reader.table("feature_stats").table.to_pandas()
    expected = sorted(stats.loc[stats["density"] >= 0.05, "feature_id"])
    assert result.output_for_node("dense_features") == expected

"""Which shards the schedule backfills."""

from splat_core.pipeline.freshness import stale_partitions


def test_missing_and_stale_shards():
    times = {
        "samples": {"000": 10.0, "001": 10.0, "002": None, "003": 10.0},
        "pooled": {"000": 20.0, "001": 20.0, "002": None, "003": 5.0},
        "activations": {"000": 30.0, "001": 30.0, "002": None, "003": 30.0},
    }
    upstream = {"builds": 1.0, "base_model": 2.0, "sae": 25.0}
    # 002 missing; 003's pooled is older than its samples; 000/001 fresh.
    assert stale_partitions(times, upstream) == ["002", "003"]
    # A newer SAE makes every shard's activations stale.
    assert stale_partitions(times, {**upstream, "sae": 40.0}) == ["000", "001", "002", "003"]
    # A newer model makes pooled (and so the shard) stale.
    fresh = {a: {"000": t} for a, t in (("samples", 1.0), ("pooled", 2.0), ("activations", 3.0))}
    assert stale_partitions(fresh, {"builds": 0.0, "base_model": 0.5, "sae": 2.5}) == []
    assert stale_partitions(fresh, {"builds": 0.0, "base_model": 2.5, "sae": 2.5}) == ["000"]

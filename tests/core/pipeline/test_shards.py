"""Shards computed together (splat_core/pipeline/shards.py): in a pool of worker processes
they write byte for byte what the step writes here, one shard at a time; checks combine
over shards; the pool is used only where it pays."""

from __future__ import annotations

import pytest

from splat_core.pipeline import shards
from splat_core.pipeline.checks import CheckOutcome, combine
from splat_core.pipeline.config import load_config
from splat_core.store import artifacts, catalog, contract, integrity


def test_a_pool_writes_what_the_step_writes_here(tiny_home, tmp_path):
    asset = "activations"  # a partitioned input and an unpartitioned one
    config = load_config("tiny")
    keys = ["000", "001"]
    settings = shards.Settings(str(tiny_home), "tiny", [])
    cat = catalog.read_catalog(tiny_home)

    def inputs(key):  # as the IO managers hand them
        deps = contract.spec(asset).deps
        return {d: artifacts.open_input(tiny_home, d, key if contract.spec(d).partitioned
                                        else None, cat) for d in deps}  # fmt: skip

    here = {k: tmp_path / f"here-{k}" for k in keys}
    pooled = {k: tmp_path / f"pool-{k}" for k in keys}
    for d in [*here.values(), *pooled.values()]:
        d.mkdir()
    serial = shards.run_shards(asset, here, inputs, config, settings, workers=1)
    pool = shards.run_shards(asset, pooled, inputs, config, settings, workers=2)
    for k in keys:
        # the same files, and the same as the shard the graph published
        published = catalog.current_path(tiny_home, asset, k)
        assert integrity.content_fingerprint(pooled[k]) == integrity.content_fingerprint(here[k])
        assert (
            integrity.content_fingerprint(here[k])
            == integrity.read_manifest(published)["fingerprint"]
        )
        assert pool[k].check.passed and serial[k].check.passed
        assert pool[k].metadata == serial[k].metadata


def test_checks_combine_over_shards():
    ok = CheckOutcome.from_problems([], rows=10)
    bad = CheckOutcome.from_problems(["2 rows with NaN"], rows=12)
    assert combine({"000": ok}) is ok  # one shard: its own outcome
    both = combine({"001": bad, "000": ok})
    assert not both.passed
    assert both.metadata["failed_shards"] == ["001"]
    assert both.metadata["problems"] == ["[001] 2 rows with NaN"]
    assert [r["shard"] for r in both.metadata["shards"]] == ["000", "001"]
    assert [r["rows"] for r in both.metadata["shards"]] == [10, 12]
    assert combine({"000": ok, "001": ok}).passed


def test_the_pool_only_where_it_pays(monkeypatch):
    monkeypatch.setenv(shards.WORKERS_ENV, "8")
    assert shards.workers_for(1, 10**6) == 1  # one shard
    assert shards.workers_for(4, shards.MIN_POOL_ROWS - 1) == 1  # small shards
    assert shards.workers_for(4, shards.MIN_POOL_ROWS) == 4  # at most one worker a shard
    monkeypatch.setenv(shards.WORKERS_ENV, "2")
    assert shards.workers_for(16, 10**6) == 2
    monkeypatch.delenv(shards.WORKERS_ENV)
    monkeypatch.setattr(shards.os, "cpu_count", lambda: 2)
    assert shards.workers_for(16, 10**6) == 1  # torch's threads fill 2 cores already
    monkeypatch.setattr(shards.os, "cpu_count", lambda: 16)
    assert shards.workers_for(16, 10**6) == 16 // shards.CORES_PER_WORKER
    monkeypatch.setenv(shards.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="SPLAT_SHARD_WORKERS='two'"):
        shards.workers_for(16, 10**6)
    monkeypatch.setenv(shards.WORKERS_ENV, "0")
    with pytest.raises(ValueError, match="SPLAT_SHARD_WORKERS='0'"):
        shards.workers_for(16, 10**6)


def test_rows_per_shard_from_the_published_builds(tiny_home):
    config = load_config("tiny")
    s = config.samples
    builds = catalog.read_catalog(tiny_home)["builds"]["metadata"]["rows"]
    expected = builds * (s.instances + 1) // s.n_shards
    assert shards.rows_per_shard(tiny_home, config) == expected
    published = catalog.read_catalog(tiny_home)["samples"]["partitions"]["000"]["metadata"]
    assert published["rows"] == expected  # what a shard really holds

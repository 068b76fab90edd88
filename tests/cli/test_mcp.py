"""`splat mcp` through the official MCP client over stdio: the tools are listed with their
investigation guidance, calls return the core functions' JSON, and a bad call comes back as
a tool error that says what was wrong."""

from __future__ import annotations

import json
import os
import shutil
import sys

import anyio
import pytest
import zarr

from splat_core import analysis
from splat_core import investigate as inv
from splat_core.investigate import compare
from splat_core.investigate.examples import grouped_examples
from splat_core.investigate.explanations import explain_feature
from splat_core.query import Reader
from splat_core.store import artifacts, catalog
from splat_core.store.contract import CSC_ZARR
from tests.helpers import ROOT, assert_json_close, publish_by_hand

mcp = pytest.importorskip("mcp")

TOOLS = {
    "feature_overview",
    "family_sweep",
    "heatmap",
    "weapon_sweep",
    "kit_sweep",
    "binary_sweep",
    "coverage",
    "token_effects",
    "decoder",
    "whatif",
    "steer",
    "interaction",
    "minimal_sets",
    "contrastive_itemsets",
    "compare_features",
    "logit_histogram",
    "grouped_examples",
    "non_activating",
    "explain_feature",
    "score_rule",
    "validate_sweep",
    "validate_token_effects",
    "validate_rule",
    "interference",
    "top_examples",
    "features_for_token",
    "get_label",
    "set_label",
    "label_queue_next",
    "label_status",
}


@pytest.fixture(scope="module")
def mcp_home(investigation_home, tmp_path_factory):
    """A copy of the investigation home: the label tools write into it."""
    target = tmp_path_factory.mktemp("mcp") / "mcp_home"
    shutil.copytree(investigation_home[0], target)
    return target


async def _session(mcp_home, body):
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "splat_cli.main", "mcp", "--home", str(mcp_home)],
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    with anyio.fail_after(60):
        async with (
            mcp.stdio_client(params) as (read, write),
            mcp.ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            return await body(session, init)


def _text(result) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def test_mcp_server_over_stdio(mcp_home):
    async def body(session, init):
        tools = (await session.list_tools()).tools
        calls = {
            "overview": await session.call_tool("feature_overview", {"feature_id": 0}),
            "sweep": await session.call_tool("family_sweep", {"feature_id": 0, "family": "SSU"}),
            "whatif": await session.call_tool(
                "whatif", {"feature_id": 0, "remove": ["SSU"], "n_examples": 6}
            ),
            "steer": await session.call_tool(
                "steer", {"feature_id": 0, "op": "scale", "value": 2.0, "n_examples": 6}
            ),
            "compare": await session.call_tool(
                "compare_features", {"feature_id": 0, "other_id": 1, "max_points": 5}
            ),
            "logits": await session.call_tool("logit_histogram", {"feature_id": 1, "bins": 6}),
            "groups": await session.call_tool("grouped_examples", {"feature_id": 0, "k": 3}),
            "bad_feature": await session.call_tool(
                "family_sweep", {"feature_id": 99, "family": "SSU"}
            ),
            "bad_family": await session.call_tool(
                "family_sweep", {"feature_id": 0, "family": "swim"}
            ),
        }
        return init, tools, calls

    init, tools, calls = anyio.run(_session, mcp_home, body)
    assert "Protocol, from a feature id to a label" in (init.instructions or "")
    by_name = {t.name: t for t in tools}
    assert set(by_name) == TOOLS
    assert "start here" in by_name["feature_overview"].description
    assert "Causal test" in by_name["whatif"].description
    assert by_name["family_sweep"].input_schema["required"] == ["feature_id", "family"]
    with Reader.open(mcp_home) as reader:
        want = {
            "overview": inv.overview(reader, 0),
            "sweep": inv.family_sweep(reader, 0, "swim_speed_up"),
            "whatif": inv.whatif_examples(
                reader, 0, inv.parse_edits(reader.encoder.weapon_vocab, remove=["SSU"]), 6
            ),
            "steer": inv.steer_examples(reader, 0, [inv.FeatureEdit(0, "scale", 2.0)], n=6),
            "compare": compare.compare_features(reader, 0, 1, max_points=5),
            "logits": compare.logit_histogram(reader, 1, bins=6),
            "groups": [g.to_dict() for g in grouped_examples(reader, 0, 3)],
        }
    for key, value in want.items():
        assert not calls[key].is_error, _text(calls[key])
        assert_json_close(json.loads(_text(calls[key])), json.loads(json.dumps(value)), key)
    assert calls["bad_feature"].is_error and "unknown feature id 99" in _text(calls["bad_feature"])
    assert calls["bad_family"].is_error
    assert "unknown ability family 'swim'" in _text(calls["bad_family"])


def test_mcp_explanations(tiny_home):
    """On the tiny home (the hand-made one has no feature_explanations): read only."""
    with Reader.open(tiny_home) as reader:
        f = int(reader.feature_counts().argmax())
        want = json.loads(json.dumps(explain_feature(reader, f, 2)))
    rule = want["explanations"][0]["rule"]

    async def body(session, _init):
        return (
            await session.call_tool("explain_feature", {"feature_id": f, "k": 2}),
            await session.call_tool("score_rule", {"feature_id": f, "rule": rule}),
            await session.call_tool("score_rule", {"feature_id": f, "rule": "class = pan"}),
            await session.call_tool("score_rule", {"feature_id": -1, "rule": rule}),
        )

    explained, scored, bad_rule, bad_feature = anyio.run(_session, tiny_home, body)
    assert json.loads(_text(explained)) == want
    got = json.loads(_text(scored))
    assert got["feature_id"] == f and got["rule"] == rule and got["f1"] > 0
    assert bad_rule.is_error and "rule:9: unknown class 'pan'" in _text(bad_rule)
    assert bad_feature.is_error and "unknown feature id -1" in _text(bad_feature)


def test_mcp_labels_round_trip(mcp_home, tmp_path):
    labels = pytest.importorskip("splat_core.labels")
    if not hasattr(labels, "LabelStore"):
        pytest.skip("the label store is not there yet")
    import shutil

    copy = tmp_path / "mcp_home"
    shutil.copytree(mcp_home, copy)

    async def body(session, _init):
        saved = await session.call_tool(
            "set_label",
            {
                "feature_id": 1,
                "name": "Ninja squid",
                "category": "mechanical",
                "notes": "whatif: removing ninja_squid lowers it",
                "confidence": 0.8,
            },
        )
        got = await session.call_tool("get_label", {"feature_id": 1})
        return saved, got

    saved, got = anyio.run(_session, copy, body)
    assert not saved.is_error, _text(saved)
    label = json.loads(_text(got))
    assert label["name"] == "Ninja squid" and label["source"] == "mcp"


def _republish_scaled(home, scale: float) -> None:
    """A new generation, as a run would publish it: the feature store with every activation
    times `scale`, then feature_stats computed from it."""
    old = catalog.current_path(home, "feature_store")

    def store(d):
        shutil.copytree(old, d, dirs_exist_ok=True)
        data = zarr.open_array(str(d / CSC_ZARR / "data"), mode="r+")
        data[:] = data[:] * scale
        return {}

    def stats(d):
        csc = artifacts.open_artifact(catalog.current_path(home, "feature_store"))
        return artifacts.write_table_dir(d, "feature_stats",
                                         analysis.feature_stats(csc, csc.n_samples))  # fmt: skip

    publish_by_hand(home, "feature_store", store)
    publish_by_hand(home, "feature_stats", stats)


def test_mcp_follows_new_generations(mcp_home, tmp_path):
    """One long `splat mcp` session outlives two publishes and answers from the newest."""
    copy = tmp_path / "mcp_home"
    shutil.copytree(mcp_home, copy)

    async def body(session, _init):
        first = await session.call_tool("top_examples", {"feature_id": 0, "k": 3})
        _republish_scaled(copy, 2.0)
        _republish_scaled(copy, 1.5)
        await anyio.sleep(1.2)  # the reader checks for a new generation at most every second
        second = await session.call_tool("top_examples", {"feature_id": 0, "k": 3})
        return first, second

    first, second = anyio.run(_session, copy, body)
    assert not first.is_error and not second.is_error, (_text(first), _text(second))
    with Reader.open(copy) as reader:
        want = [e.to_dict() for e in reader.top_examples(0, 3)]
    got = json.loads(_text(second))
    assert got == json.loads(json.dumps(want))
    before = [e["activation"] for e in json.loads(_text(first))]
    assert [e["activation"] for e in got] == pytest.approx([3.0 * a for a in before])

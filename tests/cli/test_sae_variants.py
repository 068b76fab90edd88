"""`--sae NAME` over a home serving two SAEs (tests/variant_home.py): feature commands, SQL,
labels and the SAELens export read the named variant (their answers are the alt Reader's,
not the default's); without it they read the default one; an unknown variant exits 2 with
the served variants named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splat_cli.main import main
from splat_core.investigate import examples as ex
from splat_core.labels import LabelStore
from splat_core.query import Reader
from tests.variant_home import (
    ALT,
    ALT_FEATURES,
    private_copy,
    served_dir,
)


@pytest.fixture(scope="module")
def readers(variant_home):
    return {"default": Reader.open(variant_home), ALT: Reader.open(variant_home, sae=ALT)}


def splat(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_feature_commands_read_the_named_variant(capsys, variant_home, readers):
    f = int(np.argmax(readers[ALT].feature_counts()))
    home = ("--home", variant_home)
    for sae, extra in (("default", ()), (ALT, ("--sae", ALT))):
        code, out, err = splat(capsys, "examples", f, "-k", 4, "--group", "--json", *home, *extra)
        assert code == 0, err
        want = [g.to_dict() for g in ex.grouped_examples(readers[sae], f, 4)]
        assert json.loads(out)["examples"] == json.loads(json.dumps(want))
    alt = splat(capsys, "examples", f, "-k", 4, "--json", "--sae", ALT, *home)[1]
    default = splat(capsys, "examples", f, "-k", 4, "--json", *home)[1]
    assert json.loads(alt) != json.loads(default)
    # an id only the wider default variant has
    assert splat(capsys, "examples", 40, "--sae", ALT, *home)[0] == 2
    assert splat(capsys, "examples", 40, *home)[0] == 0


def test_an_unknown_variant_exits_2_naming_the_served_ones(capsys, variant_home):
    home = ("--home", variant_home)
    for argv in (("examples", 1, "--sae", "wide"), ("sql", "SELECT 1", "--sae", "wide"),
                 ("labels", "status", "--sae", "wide"),
                 ("map", "--sae", "wide")):  # fmt: skip
        code, out, err = splat(capsys, *argv, *home)
        assert code == 2, (argv, err)
        assert "'wide'" in err and "default, alt" in err and "Traceback" not in err


def test_sql_reads_the_variants_tables(capsys, variant_home, readers):
    query = "SELECT count(*) AS n, sum(nnz) AS nnz FROM feature_stats"
    for sae, extra in (("default", ()), (ALT, ("--sae", ALT))):
        code, out, err = splat(capsys, "sql", query, "--json", "--home", variant_home, *extra)
        assert code == 0, err
        r = readers[sae]
        assert json.loads(out) == [{"n": r.n_features, "nnz": int(r.feature_counts().sum())}]
    assert readers[ALT].n_features == ALT_FEATURES


def test_labels_are_the_variants(capsys, variant_home, tmp_path):
    home = ("--home", private_copy(variant_home, tmp_path / "home"))
    code, _, err = splat(capsys, "labels", "set", 3, "--name", "alt three", "--sae", ALT, *home)
    assert code == 0, err
    code, out, _ = splat(capsys, "labels", "show", 3, "--json", "--sae", ALT, *home)
    assert json.loads(out)["label"]["name"] == "alt three"
    code, out, _ = splat(capsys, "labels", "show", 3, "--json", *home)
    assert json.loads(out)["label"] is None
    assert LabelStore.open(home[1], ALT).get(3).name == "alt three"
    # feature ids are checked against the variant's feature store
    code, _, err = splat(capsys, "labels", "set", 40, "--name", "x", "--sae", ALT, *home)
    assert code == 2 and f"[0, {ALT_FEATURES})" in err
    # the explorer's label view in SQL is the variant's too
    code, out, _ = splat(capsys, "sql", "SELECT feature_id, name FROM labels", "--json",
                         "--sae", ALT, *home)  # fmt: skip
    assert json.loads(out) == [{"feature_id": 3, "name": "alt three"}]


def test_export_sae_writes_the_variants_sae(capsys, variant_home, tmp_path):
    code, out, err = splat(capsys, "export", "sae", tmp_path / "alt", "--format", "saelens",
                           "--json", "--sae", ALT, "--home", variant_home)  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["d_sae"] == ALT_FEATURES
    cfg = json.loads((tmp_path / "alt" / "cfg.json").read_text())
    sae_version = served_dir(variant_home, "sae", ALT).name
    assert cfg["d_sae"] == ALT_FEATURES and sae_version in json.dumps(cfg)


def test_mcp_tools_take_the_variant(variant_home, readers):
    pytest.importorskip("mcp")
    import anyio

    from tests.cli.test_mcp import _session, _text

    f = int(np.argmax(readers[ALT].feature_counts()))

    async def body(session, _init):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        calls = {
            sae: await session.call_tool("top_examples", {"feature_id": f, "k": 5, "sae": sae})
            for sae in ("default", ALT, "wide")
        }
        calls[None] = await session.call_tool("top_examples", {"feature_id": f, "k": 5})
        return tools, calls

    tools, calls = anyio.run(_session, variant_home, body)
    assert "sae" in tools["top_examples"].input_schema["properties"]
    assert "sae" in tools["label_status"].input_schema["properties"]
    assert "sae" not in tools["top_examples"].input_schema.get("required", [])
    for sae in ("default", ALT):
        want = [e.to_dict() for e in readers[sae].top_examples(f, 5)]
        assert json.loads(_text(calls[sae])) == json.loads(json.dumps(want))
    assert json.loads(_text(calls[None])) == json.loads(_text(calls["default"]))
    assert json.loads(_text(calls[ALT])) != json.loads(_text(calls["default"]))
    assert calls["wide"].is_error and "default, alt" in _text(calls["wide"])

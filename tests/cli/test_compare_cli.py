"""`splat compare`, `splat logits` and `splat map`: --json is the core function's result
(tests/core/investigate/test_compare.py checks its numbers), tables print, errors exit 2."""

from __future__ import annotations

import json

from splat_core.investigate.compare import compare_features, logit_histogram
from tests.helpers import json_roundtrip as roundtrip
from tests.helpers import run_splat

splat = run_splat


def test_compare_and_logits(capsys, investigation_home, investigation_reader):
    home, r = investigation_home[0], investigation_reader
    code, out, err = splat(capsys, home, "compare", 0, 1, "--json")
    assert code == 0, err
    assert json.loads(out) == roundtrip(compare_features(r, 0, 1))
    want = compare_features(r, 0, 1)
    code, out, _ = splat(capsys, home, "compare", 0, 1)
    assert code == 0 and f"both {want['counts']['both']:,}" in out
    assert "P(1 fires | 0 fires)" in out and "decoder cosine" in out

    code, out, err = splat(capsys, home, "logits", 1, "--bins", 5, "-k", 3, "--json")
    assert code == 0, err
    assert json.loads(out) == roundtrip(logit_histogram(r, 1, 5, 3))
    code, out, _ = splat(capsys, home, "logits", 1, "--bins", 5)
    hist = logit_histogram(r, 1, 5)
    assert code == 0 and "raises most" in out and hist["top_positive"][0]["token"] in out
    assert sum(int(line.split(")")[1].split()[0]) for line in out.splitlines()
               if line.startswith("  [")) == hist["n_tokens"]  # fmt: skip

    code, _, err = splat(capsys, home, "compare", 0, 99)
    assert code == 2 and "unknown feature" in err
    code, _, err = splat(capsys, home, "map")  # the hand-made home has no feature_map
    assert code == 2 and "feature_map is not materialized" in err


def test_map_lists_points(capsys, tiny_home, tiny_reader):
    from splat_core.investigate.compare import map_points

    code, out, err = splat(capsys, tiny_home, "map", "--color", "explanation", "--json")
    assert code == 0, err
    want = map_points(tiny_reader, "explanation", {})
    assert json.loads(out) == roundtrip(want)
    code, out, _ = splat(capsys, tiny_home, "map", "--limit", 3)
    assert code == 0 and f"{want['n_features']:,} features, coloured by family" in out
    assert f"({want['method']})" in out and "first 3 points" in out

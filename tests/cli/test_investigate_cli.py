"""`splat overview|sweep|tokens|decoder|whatif` on the hand-made investigation home: --json is the
core function's result (whose numbers tests/core/test_investigate.py checks directly), spot
numbers are recomputed here, tables print, and unknown names exit 2 with the reason."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splat_cli.main import main
from splat_core import investigate as inv
from tests.helpers import WEAPON_IDS, top_rung


def splat(capsys, investigation_home, *argv) -> tuple[int, str, str]:
    code = main([*map(str, argv), "--home", str(investigation_home[0])])
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(capsys, investigation_home, *argv):
    code, out, err = splat(capsys, investigation_home, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def roundtrip(obj):
    return json.loads(json.dumps(obj, default=str))


def test_json_equals_the_core_functions(capsys, investigation_home, investigation_reader):
    cases = [
        (
            ("overview", 0, "--all"),
            lambda: inv.overview(
                investigation_reader, 0, enrichment=True, regions=True, binary=True, kits=True
            ),
        ),
        (("tokens", 0, "--min-n", 3), lambda: inv.token_effects(investigation_reader, 0, min_n=3)),
        (
            ("tokens", 1, "--collapse"),
            lambda: inv.token_effects(investigation_reader, 1, collapse=True),
        ),
        (
            ("decoder", 2, "--exclude-family", "SSU"),
            lambda: inv.decoder_analysis(investigation_reader, 2, exclude=["SSU"]),
        ),
        (
            ("sweep", "family", 0, "--family", "SSU"),
            lambda: inv.family_sweep(investigation_reader, 0, "swim_speed_up"),
        ),
        (
            ("sweep", "family", 0, "--family", "ninja_squid", "--population", "firing"),
            lambda: inv.family_sweep(investigation_reader, 0, "ninja_squid", "firing"),
        ),
        (
            ("sweep", "heatmap", 0, "--x", "SSU", "--y", "RSU", "--x-rungs", "6,21"),
            lambda: inv.heatmap(investigation_reader, 0, "SSU", "RSU", [6, 21]),
        ),
        (
            ("sweep", "weapon", 1, "--min-n", 1),
            lambda: inv.weapon_sweep(investigation_reader, 1, 1),
        ),
        (("sweep", "kit", 1, "--min-n", 1), lambda: inv.kit_sweep(investigation_reader, 1, 1)),
        (
            ("sweep", "binary", 1, "--min-n", 2),
            lambda: inv.binary_sweep(investigation_reader, 1, 0.9, 2),
        ),
        (("sweep", "coverage", 0), lambda: inv.coverage(investigation_reader, 0)),
    ]
    for argv, want in cases:
        assert as_json(capsys, investigation_home, *argv) == roundtrip(want()), argv


def test_sweep_numbers_against_the_planted_arrays(capsys, investigation_home):
    _, tokens, weapons, a = investigation_home
    x = a[:, 0].astype(np.float64)
    rung = np.array([top_rung(t, "swim_speed_up") for t in tokens])
    r = as_json(capsys, investigation_home, "sweep", "family", 0, "--family", "swim_speed_up")
    for row in r["rows"]:
        sel = x[rung == row["rung"]]
        assert (row["n"], row["mean"]) == (len(sel), pytest.approx(sel.mean()))
        assert row["delta"] == pytest.approx(sel.mean() - x[rung == 0].mean())
    y = a[:, 1].astype(np.float64)
    w = as_json(capsys, investigation_home, "sweep", "weapon", 1, "--min-n", 1)
    for row in w["weapons"]["rows"]:
        sel = y[weapons == WEAPON_IDS.index(int(row["key"]))]
        assert row["mean"] == pytest.approx(sel.mean()) and row["n"] == len(sel)
    b = as_json(
        capsys, investigation_home, "sweep", "binary", 1, "--high-quantile", 0.75, "--min-n", 2
    )
    assert b["high_threshold"] == pytest.approx(np.quantile(y[y > 0], 0.75))


def test_whatif_json(capsys, investigation_home, investigation_reader):
    got = as_json(
        capsys,
        investigation_home,
        "whatif",
        0,
        "--remove",
        "SSU",
        "--add",
        "stealth_jump",
        "--raise",
        "run_speed_up=21",
        "--swap-weapon",
        0,
        "--examples",
        8,
    )
    edits = inv.parse_edits(
        investigation_reader.encoder.weapon_vocab,
        ["stealth_jump"],
        ["SSU"],
        ["run_speed_up=21"],
        [0],
    )
    want = roundtrip(inv.whatif_examples(investigation_reader, 0, edits, 8))
    assert got == want
    assert {e["edit"] for e in got["edits"]} == {
        "remove swim_speed_up",
        "add stealth_jump",
        "raise run_speed_up=21",
        "weapon 0",
    }
    one = as_json(
        capsys,
        investigation_home,
        "whatif",
        0,
        "--weapon",
        4010,
        "--ability",
        "SSU=12",
        "--ability",
        "ninja_squid",
        "--remove",
        "ninja_squid",
    )
    assert one["abilities"] == {"swim_speed_up": 12, "ninja_squid": 10}
    want = inv.whatif_build(
        investigation_reader,
        0,
        4010,
        {"swim_speed_up": 12, "ninja_squid": 10},
        inv.parse_edits(investigation_reader.encoder.weapon_vocab, remove=["ninja_squid"]),
    )
    assert one["variants"] == roundtrip(want["variants"])


def test_tables_print(capsys, investigation_home):
    for argv, expect in (
        (
            ("overview", 0, "--all"),
            [
                "fires on",
                "ReLU floor",
                "top tokens",
                "regions",
                "main-only abilities",
                "label: (none)",
            ],
        ),
        (
            ("sweep", "family", 0, "--family", "SSU"),
            ["population: all 60 samples", "swim_speed_up_21", "absent"],
        ),
        (("sweep", "heatmap", 0, "--x", "SSU", "--y", "ninja_squid"), ["(0, 0)", "(y ->)"]),
        (("sweep", "weapon", 1, "--min-n", 1), ["Heavy Edit Splatling", "classes"]),
        (("sweep", "kit", 1, "--min-n", 1), ["Curling Bomb"]),
        (("sweep", "coverage", 0), ["verdict"]),
        (("tokens", 0, "--min-n", 3), ["enhancers", "suppressors", "cohen d"]),
        (("decoder", 0), ["promoted", "suppressed", "unit-norm dictionary"]),
        (("whatif", 0, "--examples", 5), ["recomputed", "mean delta"]),
        (("whatif", 0, "--weapon", 4010, "--ability", "SSU=6"), ["activation", "weapon 4050"]),
    ):
        code, out, err = splat(capsys, investigation_home, *argv)
        assert code == 0, err
        for text in expect:
            assert text in out, (argv, text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("overview", 4), "unknown feature id 4"),
        (("sweep", "family", 0, "--family", "swim"), "unknown ability family 'swim'"),
        (("sweep", "heatmap", 0, "--x", "SSU", "--y", "RSU", "--x-rungs", "41"), "no rung [41]"),
        (("whatif", 0, "--add", "swim_speed_up_41"), "no AP rung '41'"),
        (("whatif", 0, "--remove", "nothing"), "unknown ability family 'nothing'"),
        (("whatif", 0, "--swap-weapon", 8000), "unknown weapon '8000'"),
        (("whatif", 0, "--weapon", 4010, "--ability", "SSU"), "needs an AP value"),
        (("whatif", 0, "--ability", "SSU=3"), "give its --weapon"),
        (("tokens", 0, "--high-quantile", 90), "did you mean 0.9"),
        (("decoder", 9), "unknown feature id 9"),
    ],
)
def test_unknown_names_exit_2_with_the_reason(capsys, investigation_home, argv, message):
    code, out, err = splat(capsys, investigation_home, *argv)
    assert code == 2 and out == ""
    assert message in err and err.startswith("splat: error:")


def test_missing_home_is_a_clear_error(capsys, tmp_path):
    code = main(["overview", "0", "--home", str(tmp_path / "nothing")])
    assert code == 2
    assert "not materialized" in capsys.readouterr().err

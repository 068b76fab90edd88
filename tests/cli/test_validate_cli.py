"""`splat validate` on the hand-made investigation home: --json is the core function's result
(whose numbers tests/core/investigate/test_validation.py checks directly), tables print with
the population, bad arguments exit 2."""

from __future__ import annotations

import json

import anyio
import pytest

from splat_core import investigate as inv
from tests.helpers import json_roundtrip as roundtrip
from tests.helpers import run_splat

splat = run_splat


def test_validate_json_equals_the_core_functions(capsys, investigation_home, investigation_reader):
    home, r = investigation_home[0], investigation_reader
    cases = [
        (("sweep", 0, "SSU", "--perm", 30, "--seed", 2, "--min-n", 3),
         inv.validate_sweep(r, 0, "SSU", 30, 2, 3)),
        (("tokens", 0, "--perm", 20, "--min-n", 3, "--top-k", 4),
         inv.validate_token_effects(r, 0, True, 20, 0, 4, 3)),
        (("interference", 0, "SSU", "--examples", 6),
         inv.interference(r, 0, "SSU", 6)),
    ]  # fmt: skip
    for argv, want in cases:
        code, out, err = splat(capsys, home, "validate", *argv, "--json")
        assert code == 0, err
        assert json.loads(out) == roundtrip(want), argv


def test_validate_tables_and_errors(capsys, investigation_home):
    home = investigation_home[0]
    code, out, _ = splat(capsys, home, "validate", "sweep", 0, "SSU", "--perm", 20, "--min-n", 3)
    assert code == 0 and "population: all 60 samples" in out and "eta squared" in out
    code, out, _ = splat(capsys, home, "validate", "tokens", 0, "--perm", 20, "--min-n", 3)
    assert code == 0 and "p bonf." in out and "not corrected" in out
    code, out, _ = splat(capsys, home, "validate", "interference", 0, "SSU", "--examples", 6)
    assert code == 0 and "remove_top" in out and "of the change" in out
    code, out, _ = splat(capsys, home, "validate", "interference", 0, "ninja_squid")
    assert code == 0 and "does not apply" in out
    code, _, err = splat(capsys, home, "validate", "sweep", 0, "swim")
    assert code == 2 and "unknown ability family" in err
    code, _, err = splat(capsys, home, "validate", "sweep", 99, "SSU")
    assert code == 2 and "99" in err
    code, _, err = splat(capsys, home, "validate", "tokens", 0, "--seed", -1)
    assert code == 2 and "seed" in err


def test_validate_rule(capsys, tiny_home, tiny_reader):
    f = int(tiny_reader.feature_counts().argmax())
    rule = "swim_speed_up >= 12"
    code, out, err = splat(capsys, tiny_home, "validate", "rule", f, rule, "--perm", 20, "--json")
    assert code == 0, err
    assert json.loads(out) == roundtrip(inv.validate_rule(tiny_reader, f, rule, 20))
    code, out, _ = splat(capsys, tiny_home, "validate", "rule", f, rule, "--perm", 20)
    assert code == 0 and "half_a" in out and "F1 over all samples" in out
    code, _, err = splat(capsys, tiny_home, "validate", "rule", f, "swim_speed_up >>= 1")
    assert code == 2


def test_validate_mcp_tools_answer_the_core_functions(investigation_home, investigation_reader):
    """In process (tests/cli/test_mcp.py runs the server over stdio): each tool's JSON."""
    pytest.importorskip("mcp")
    from splat_cli.mcp_server import build_server

    server = build_server(investigation_home[0])
    r = investigation_reader
    calls = {
        "validate_sweep": ({"feature_id": 0, "family": "SSU", "n_perm": 20, "min_n": 3},
                           inv.validate_sweep(r, 0, "SSU", 20, 0, 3)),
        "validate_token_effects": ({"feature_id": 0, "n_perm": 20, "min_n": 3},
                                   inv.validate_token_effects(r, 0, True, 20, 0, 10, 3)),
        "interference": ({"feature_id": 0, "family": "SSU", "n_examples": 6, "n_perm": 20},
                         inv.interference(r, 0, "SSU", 6, n_perm=20)),
    }  # fmt: skip
    for name, (args, want) in calls.items():
        result = anyio.run(server.call_tool, name, args)
        text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
        assert json.loads(text) == roundtrip(want), name

"""`splat interact|minimal|itemsets` on the hand-made investigation home: --json is the core
function's result (whose numbers tests/core/investigate/test_interactions.py checks
directly), tables print, and bad arguments exit 2."""

from __future__ import annotations

import json

from splat_core import investigate as inv
from tests.helpers import json_roundtrip as roundtrip
from tests.helpers import run_splat


def splat(capsys, home, *argv) -> tuple[int, str, str]:
    return run_splat(capsys, home[0], *argv)


def as_json(capsys, home, *argv):
    code, out, err = splat(capsys, home, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_json_equals_the_core_functions(capsys, investigation_home, investigation_reader):
    r, h = investigation_reader, investigation_home
    got = as_json(capsys, h, "interact", 0, "SSU", "RSU", "--x-rungs", "6,21", "--examples", 8)
    assert got == roundtrip(inv.interaction(r, 0, "SSU", "RSU", [6, 21], None, 8))
    got = as_json(
        capsys, h, "interact", 0, "SSU", "RSU", "--z", "ns", "--rungs", "6,12,10", "--examples", 8
    )
    assert got == roundtrip(inv.interaction3(r, 0, "SSU", "RSU", "ns", [6, 12, 10], 8))
    got = as_json(capsys, h, "minimal", 0, "--examples", 3, "--max-evals", 64)
    assert got == roundtrip(inv.minimal_sets(r, 0, 3, max_evals=64))
    got = as_json(capsys, h, "itemsets", 0, "--tokens", "--min-support", 0.2)
    assert got == roundtrip(inv.contrastive_itemsets(r, 0, min_support=0.2, collapse=False))


def test_tables_and_errors(capsys, investigation_home):
    h = investigation_home
    code, out, _ = splat(capsys, h, "interact", 0, "SSU", "RSU", "--examples", 6)
    assert code == 0 and "main effect of swim_speed_up" in out and "I(rx, ry)" in out
    code, out, _ = splat(capsys, h, "interact", 0, "SSU", "RSU", "--z", "QR", "--examples", 6)
    assert code == 0 and "three-way term" in out
    code, out, _ = splat(capsys, h, "minimal", 0, "--examples", 3, "--max-evals", 64)
    assert code == 0 and "minimal sets" in out
    code, out, _ = splat(capsys, h, "itemsets", 0, "--high-quantile", 0.5)
    assert code == 0 and "largest lift first" in out and "swim_speed_up" in out
    code, _, err = splat(capsys, h, "interact", 0, "SSU", "SSU")
    assert code == 2 and "differ" in err
    code, _, err = splat(capsys, h, "interact", 0, "SSU", "RSU", "--z", "QR", "--x-rungs", "6")
    assert code == 2 and "--rungs" in err
    code, _, err = splat(capsys, h, "itemsets", 99)
    assert code == 2 and "99" in err

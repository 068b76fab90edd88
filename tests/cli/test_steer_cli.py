"""`splat steer` on the hand-made investigation home: --json is the core function's result
(whose numbers tests/core/investigate/test_steering.py checks directly), tables print, and
bad arguments exit 2."""

from __future__ import annotations

import json

from splat_cli.main import main
from splat_core import investigate as inv
from splat_core.investigate.steering import FeatureEdit


def splat(capsys, home, *argv) -> tuple[int, str, str]:
    code = main([*map(str, argv), "--home", str(home[0])])
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(capsys, home, *argv):
    code, out, err = splat(capsys, home, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def roundtrip(obj):
    return json.loads(json.dumps(obj, default=str))


def test_steer_json_equals_the_core_functions(capsys, investigation_home, investigation_reader):
    r = investigation_reader
    got = as_json(capsys, investigation_home, "steer", 0, "--scale", 3, "--feature", 1)
    edits = [FeatureEdit(0, "scale", 3.0), FeatureEdit(1, "scale", 3.0)]
    assert got == roundtrip(inv.steer_examples(r, 0, edits))
    got = as_json(
        capsys, investigation_home, "steer", 0, "--direct", 2, "--examples", 5, "--source", "core"
    )
    assert got == roundtrip(inv.steer_examples(r, 0, [FeatureEdit(0, "direct", 2.0)], "core", 5))
    args = ("--weapon", 4010, "--ability", "SSU=12", "--ability", "ninja_squid")
    one = as_json(capsys, investigation_home, "steer", 0, "--clamp", 4, *args)
    build = {"swim_speed_up": 12, "ninja_squid": 10}
    assert one == roundtrip(inv.steer(r, 4010, build, [FeatureEdit(0, "clamp", 4.0)]))


def test_steer_tables_and_errors(capsys, investigation_home):
    code, out, _ = splat(capsys, investigation_home, "steer", 0, "--add", 2, "--examples", 6)
    assert code == 0 and "mean delta" in out and "completion changed on" in out
    args = ("--weapon", 4010, "--ability", "SSU=12")
    code, out, _ = splat(capsys, investigation_home, "steer", 0, "--clamp", 0, *args)
    assert code == 0 and "completion before:" in out and "largest |delta|" in out
    code, _, err = splat(capsys, investigation_home, "steer", 99, "--clamp", 1)
    assert code == 2 and "99" in err
    code, _, err = splat(capsys, investigation_home, "steer", 0, "--clamp", "nan")
    assert code == 2 and "finite" in err
    code, _, err = splat(capsys, investigation_home, "steer", 0, "--scale", 2, "--ability", "SSU=3")
    assert code == 2 and "--weapon" in err

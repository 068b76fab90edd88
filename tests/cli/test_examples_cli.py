"""`splat examples`: its JSON is the core functions' answer, and the tables print."""

from __future__ import annotations

import json

import numpy as np

from splat_cli.main import main
from splat_core.investigate import examples as ex


def test_examples_command(capsys, tiny_home, tiny_reader):
    r = tiny_reader
    f = int(np.argmax(r.feature_counts))
    home = ["--home", str(tiny_home)]
    assert main(["examples", str(f), "-k", "4", "--group", "--negatives", "--json", *home]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["examples"] == json.loads(
        json.dumps([g.to_dict() for g in ex.grouped_examples(r, f, 4)])
    )
    assert out["negatives"] == json.loads(json.dumps(ex.non_activating(r, f, 4, 0).to_dict()))
    assert main(["examples", str(f), "-k", "3", "--negatives", *home]) == 0
    text = capsys.readouterr().out
    assert "top examples" in text and "hard negatives" in text
    assert main(["examples", "999999", *home]) == 2

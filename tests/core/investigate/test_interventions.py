"""What-if interventions: edited builds re-run through the model and the SAE, checked
against direct re-runs; unknown names and features raise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core import investigate as inv
from splat_core.domain.vocab import (
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    NULL,
    RUNGS,
    STANDARD,
)
from splat_core.investigate import names
from splat_core.investigate.interventions import Edit
from splat_core.query import UnknownFeatureError
from tests.helpers import VOCAB, WEAPON_IDS, WVOCAB, F, N, top_rung

# --- interventions ----------------------------------------------------------------------------


def run_direct(investigation_reader, rows):
    """[B, F] activations of (weapon id, tokens) rows, one at a time through model and SAE."""
    enc = investigation_reader.encoder
    out = []
    with torch.no_grad():
        for w, toks in rows:
            t = torch.tensor([VOCAB.encode(toks)])
            pooled = enc.model.pooled(t, torch.tensor([[WVOCAB.index_of(w)]]))
            out.append(enc.sae.encode(pooled)[0].numpy())
    return np.array(out)


def edit_direct(kind, target, toks, w):
    """The expected edit, written out plainly."""
    toks = [t for t in toks if t != NULL]
    if kind == "weapon":
        return None if int(target) == w else (toks or [NULL], int(target))
    if kind == "add":
        return None if target in toks else (toks + [target], w)
    if kind == "remove":
        gone = [t for t in toks if t == target or t.rsplit("_", 1)[0] == target]
        return None if not gone else ([t for t in toks if t not in gone] or [NULL], w)
    fam, rung = target
    missing = [f"{fam}_{r}" for r in RUNGS if r <= rung and f"{fam}_{r}" not in toks]
    return None if not missing else (toks + missing, w)


def legal(toks) -> bool:
    mains = [t for t in toks if t in MAIN_ONLY]
    pieces = [MAIN_ONLY_SLOT[t] for t in mains]
    ap = 10 * len(mains) + sum(top_rung(toks, f) for f in STANDARD)
    return len(set(pieces)) == len(pieces) and ap <= 57


def test_whatif_over_examples_equals_direct_reruns(investigation_reader, investigation_home):
    _, tokens, weapons, a = investigation_home
    edits = inv.parse_edits(
        WVOCAB,
        add=["stealth_jump", "SSU_29"],
        remove=["swim_speed_up", "swim_speed_up_3", "ninja_squid"],
        raise_=["run_speed_up=57"],
        weapons=["7011"],
    )
    r = inv.whatif_examples(investigation_reader, 0, edits, n=12, per_example=True)
    top = np.lexsort((np.arange(N), -a[:, 0]))[:12]
    rows = [(WEAPON_IDS[weapons[i]], tokens[i]) for i in top]
    base = run_direct(investigation_reader, rows)[:, 0]
    assert r["n_examples"] == 12 and r["stored_mean"] == pytest.approx(a[top, 0].mean())
    assert r["base_mean"] == pytest.approx(base.mean(), abs=1e-5)
    specs = {
        "add stealth_jump": ("add", "stealth_jump"),
        "add swim_speed_up_29": ("add", "swim_speed_up_29"),
        "remove swim_speed_up": ("remove", "swim_speed_up"),
        "remove swim_speed_up_3": ("remove", "swim_speed_up_3"),
        "remove ninja_squid": ("remove", "ninja_squid"),
        "raise run_speed_up=57": ("raise", ("run_speed_up", 57)),
        "weapon 7011": ("weapon", "7011"),
    }
    assert {e["edit"] for e in r["edits"]} == set(specs)
    for e in r["edits"]:
        kind, target = specs[e["edit"]]
        new = [edit_direct(kind, target, t, w) for w, t in rows]
        ok = [i for i, x in enumerate(new) if x is not None and legal(x[0])]
        assert e["n_noop"] == sum(x is None for x in new)
        assert e["n_illegal"] == sum(x is not None and not legal(x[0]) for x in new)
        assert e["n_applied"] == len(ok)
        if not ok:
            assert e["mean_delta"] is None
            continue
        after = run_direct(investigation_reader, [(new[i][1], new[i][0]) for i in ok])[:, 0]
        delta = after - base[ok]
        assert e["mean_delta"] == pytest.approx(delta.mean(), abs=1e-5)
        assert e["median_delta"] == pytest.approx(np.median(delta), abs=1e-5)
        assert e["frac_off"] == pytest.approx(((base[ok] > 0) & (after == 0)).mean())
        assert [x["sample_id"] for x in e["examples"]] == top[ok].tolist()
    assert any(e["n_illegal"] for e in r["edits"])  # raising to 57 AP breaks the budget
    assert all(e["reliable"] == (e["n_applied"] >= 20) for e in r["edits"])
    order = [abs(e["mean_delta"]) for e in r["edits"] if e["mean_delta"] is not None]
    assert order == sorted(order, reverse=True)  # 12 examples: none reliable, plain order
    default = inv.whatif_examples(investigation_reader, 0, n=5)
    kinds = {e["kind"] for e in default["edits"]}
    assert kinds == {"add", "remove", "raise"}


def test_whatif_core_examples_are_seeded_and_in_the_core(investigation_reader, investigation_home):
    a = investigation_home[3][:, 0]
    m = np.quantile(a[a > 0].astype(np.float64), 0.995)
    r = inv.whatif_examples(
        investigation_reader,
        0,
        inv.parse_edits(WVOCAB, weapons=["0"]),
        n=4,
        source="core",
        seed=3,
        per_example=True,
    )
    ids = [x["sample_id"] for x in r["edits"][0]["examples"]]
    assert all(0.25 * m < a[i] <= 0.75 * m for i in ids)
    again = inv.whatif_examples(
        investigation_reader,
        0,
        inv.parse_edits(WVOCAB, weapons=["0"]),
        n=4,
        source="core",
        seed=3,
        per_example=True,
    )
    assert again == r


def test_whatif_on_one_build(investigation_reader):
    build = {"swim_speed_up": 12, "ninja_squid": 10}
    toks = ["ninja_squid", "swim_speed_up_3", "swim_speed_up_6", "swim_speed_up_12"]
    edits = inv.parse_edits(
        WVOCAB,
        add=["haunt", "comeback"],
        remove=["SSU"],
        raise_=["swim_speed_up=21"],
        weapons=["4050"],
    )
    r = inv.whatif_build(investigation_reader, 0, 4010, build, edits)
    assert r["tokens"] == toks
    base = run_direct(investigation_reader, [(4010, toks)])[0, 0]
    assert r["activation"] == pytest.approx(base, abs=1e-5)
    by = {v["edit"]: v for v in r["variants"]}
    assert by["add haunt"]["skipped"].startswith("ninja_squid and haunt")
    want = {
        "add comeback": (4010, toks + ["comeback"]),
        "remove swim_speed_up": (4010, ["ninja_squid"]),
        "raise swim_speed_up=21": (4010, toks + ["swim_speed_up_15", "swim_speed_up_21"]),
        "weapon 4050": (4050, toks),
    }
    for edit, (w, t) in want.items():
        v = by[edit]
        assert (v["weapon_id"], v["tokens"], v["skipped"]) == (w, t, None)
        assert v["delta"] == pytest.approx(
            run_direct(investigation_reader, [(w, t)])[0, 0] - base, abs=1e-5
        )
    every = inv.whatif_build(investigation_reader, 0, 4010, build)
    assert every["activation"] == pytest.approx(base, abs=1e-5)
    assert any(v["edit"] == "weapon 7011" for v in every["variants"])


def test_unknown_names_and_features_raise(investigation_reader):
    assert names.ability("ssu") == "swim_speed_up" and names.token("SSU_21") == "swim_speed_up_21"
    assert names.token("SJ") == "stealth_jump" and names.family("QR") == "quick_respawn"
    for call, match in (
        (lambda: names.ability("nope"), "unknown ability family"),
        (lambda: names.family("ninja_squid"), "main-only"),
        (lambda: names.token("swim_speed_up_41"), "rung"),
        (lambda: names.token("foo_3"), "unknown"),
        (lambda: names.weapon(WVOCAB, 8000), "unknown weapon"),
        (lambda: inv.parse_edits(WVOCAB, raise_=["swim_speed_up"]), "FAMILY"),
        (lambda: inv.family_sweep(investigation_reader, 0, "swim"), "unknown ability"),
    ):
        with pytest.raises(KeyError, match=match) as err:
            call()
        assert "'" not in str(err.value)[:1]  # a readable message, not a quoted repr
    for call in (
        lambda: inv.overview(investigation_reader, F),
        lambda: inv.family_sweep(investigation_reader, -1, "SSU"),
        lambda: inv.decoder_analysis(investigation_reader, F),
        lambda: inv.whatif_examples(investigation_reader, 99),
    ):
        with pytest.raises(UnknownFeatureError):
            call()
    with pytest.raises(ValueError, match="population"):
        inv.family_sweep(investigation_reader, 0, "SSU", "some")
    assert str(Edit("raise", "swim_speed_up", 21)) == "raise swim_speed_up=21"

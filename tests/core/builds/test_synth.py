"""The synthetic generator: legality, coverage and the planted structure."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from splat_core.builds.archetypes import ARCHETYPE_NAMES, KIT_SENSITIVE
from splat_core.builds.synth import MAX_COPIES, SynthConfig, generate_builds
from splat_core.domain.legality import full_build_ap
from splat_core.domain.tokenizer import ap_to_tokens
from splat_core.domain.vocab import content_tokens
from splat_core.domain.weapons import weapon_table


@pytest.fixture(scope="module")
def small():
    return generate_builds(SynthConfig(n_builds=2_000, seed=3))


@pytest.fixture(scope="module")
def medium():
    return generate_builds(SynthConfig(n_builds=30_000, seed=0))


def test_seeded_and_deterministic(small):
    again = generate_builds(SynthConfig(n_builds=2_000, seed=3))
    other = generate_builds(SynthConfig(n_builds=2_000, seed=4))
    assert np.array_equal(small.token_ids, again.token_ids)
    assert np.array_equal(small.weapon, again.weapon)
    assert np.array_equal(small.archetype, again.archetype)
    assert not np.array_equal(small.weapon, other.weapon)


def test_every_build_is_a_legal_full_build_in_canonical_order(small):
    for i in range(len(small)):
        tokens = small.vocab.decode(small.tokens(i))
        ap = full_build_ap(tokens)  # raises if no legal 57-AP build yields them
        assert sum(ap.values()) == 57
        assert ap_to_tokens(ap) == tokens


def test_every_content_token_occurs_even_in_a_small_dataset(small):
    present = {t for i in range(len(small)) for t in small.vocab.decode(small.tokens(i))}
    assert present == set(content_tokens())


def test_tokens_per_build_and_weapons(medium):
    assert medium.lengths.min() >= 8 and medium.lengths.max() <= 15
    assert len(medium.weapon_vocab) == 130
    assert set(np.unique(medium.weapon)) == set(range(130))


def test_popularity_is_skewed(medium):
    counts = np.sort(np.bincount(medium.weapon, minlength=130))[::-1]
    assert counts[0] > 10 * np.median(counts)
    assert counts[-1] > 0


def test_each_weapon_mixes_two_to_four_archetypes(medium):
    coverage = ARCHETYPE_NAMES.index("coverage")
    for w in range(130):
        arch = medium.archetype[(medium.weapon == w) & (medium.archetype != coverage)]
        shares = np.bincount(arch, minlength=len(ARCHETYPE_NAMES)) / len(arch)
        # Archetypes the weapon draws from (ignoring chance draws of tiny share).
        assert 2 <= (shares > 0).sum() <= 5  # 2-4, plus one an alternate kit may add


def test_archetypes_are_planted_in_the_tokens(medium):
    """Each archetype's signature token is far more frequent in its builds than elsewhere."""
    signature = {
        "zombie": "quick_respawn_12",
        "stealth_slayer": "ninja_squid",
        "runner": "run_speed_up_21",
        "special_farmer": "special_charge_up_12",
        "bomb_spammer": "sub_power_up_6",
        "frontline_tank": "sub_resistance_up_6",
    }
    hot = medium.multi_hot()
    for name, token in signature.items():
        col = medium.vocab.token_to_id[token]
        inside = medium.archetype == ARCHETYPE_NAMES.index(name)
        assert hot[inside, col].mean() > 3 * hot[~inside, col].mean(), name


def test_alternate_kits_shift_the_mix(medium):
    kits = np.array([w.kit for w in weapon_table()])[medium.weapon]
    sensitive = np.isin(medium.archetype, [ARCHETYPE_NAMES.index(n) for n in KIT_SENSITIVE])
    assert sensitive[kits == 1].mean() > 1.3 * sensitive[kits == 0].mean()


def test_meta_builds_repeat_but_are_capped(medium):
    keys = Counter((int(medium.weapon[i]), tuple(medium.tokens(i))) for i in range(len(medium)))
    top = max(keys.values())
    assert 10 < top <= MAX_COPIES

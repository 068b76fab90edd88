"""Names a researcher types: abilities (with the community's short codes), tokens, weapons.

Unknown names raise `UnknownNameError` (a KeyError) whose message lists what is valid, so
the command line and the MCP tools can show it as is.
"""

from __future__ import annotations

import operator

from splat_core.domain.vocab import (
    ABILITIES,
    MAIN_ONLY,
    RUNGS,
    STANDARD,
    is_content_token,
    token_info,
)

ABILITY_INDEX = {a: i for i, a in enumerate(ABILITIES)}  # 12 main-only, then 14 families

# Short codes from the reference glossary and sendou.ink, case-insensitive.
ALIASES = {
    "iru": "ink_recovery_up",
    "inkr": "ink_resistance_up",
    "res": "ink_resistance_up",
    "ism": "ink_saver_main",
    "iss": "ink_saver_sub",
    "ia": "intensify_action",
    "qr": "quick_respawn",
    "qsj": "quick_super_jump",
    "rsu": "run_speed_up",
    "scu": "special_charge_up",
    "spu": "special_power_up",
    "ss": "special_saver",
    "subpu": "sub_power_up",
    "bru": "sub_power_up",
    "sru": "sub_resistance_up",
    "ssu": "swim_speed_up",
    "cb": "comeback",
    "lde": "last_ditch_effort",
    "og": "opening_gambit",
    "t": "tenacity",
    "ad": "ability_doubler",
    "h": "haunt",
    "ns": "ninja_squid",
    "rp": "respawn_punisher",
    "ti": "thermal_ink",
    "dr": "drop_roller",
    "os": "object_shredder",
    "sj": "stealth_jump",
}


class UnknownNameError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def ability(name: str) -> str:
    """A family or main-only ability by name or short code."""
    key = str(name).strip()
    if key in ABILITY_INDEX:
        return key
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    raise UnknownNameError(
        f"unknown ability family {name!r}: one of {', '.join(STANDARD)} (stackable) or "
        f"{', '.join(MAIN_ONLY)} (main-only), or a short code such as SSU"
    )


def family(name: str) -> str:
    """A stackable family (one with AP rungs)."""
    a = ability(name)
    if a not in STANDARD:
        raise UnknownNameError(f"{a} is a main-only ability: it has no AP rungs")
    return a


def rung(value) -> int:
    try:
        r = operator.index(value) if not isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        r = None
    if r not in RUNGS:
        raise UnknownNameError(f"no AP rung {value!r}: the rungs are {', '.join(map(str, RUNGS))}")
    return r


def token(name: str) -> str:
    """An ability token: a main-only ability or `<family>_<rung>` (codes allowed: SSU_21)."""
    name = str(name).strip()
    if is_content_token(name):
        return name
    head, _, tail = name.rpartition("_")
    if head and tail.isdigit():
        t = f"{ability(head)}_{rung(tail)}"
        if is_content_token(t):
            return t
    elif name.lower() in ALIASES and ALIASES[name.lower()] in MAIN_ONLY:
        return ALIASES[name.lower()]
    raise UnknownNameError(
        f"unknown ability token {name!r}: a main-only ability (e.g. stealth_jump) or "
        f"<family>_<rung> with a rung in {', '.join(map(str, RUNGS))} (e.g. swim_speed_up_21)"
    )


def token_or_ability(name: str) -> str:
    """A token, or failing that an ability (a family name stands for all its rungs)."""
    try:
        return token(name)
    except UnknownNameError:
        return ability(name)


def weapon(weapon_vocab, weapon_id) -> int:
    """A reference-kit weapon id of the weapon vocabulary."""
    try:
        w = int(str(weapon_id).strip())
        weapon_vocab.index_of(w)
        return w
    except (TypeError, ValueError, KeyError):
        ids = weapon_vocab.weapon_ids
        raise UnknownNameError(
            f"unknown weapon {weapon_id!r}: a reference-kit id of the weapon vocabulary "
            f"({len(ids)} weapons, e.g. {', '.join(map(str, ids[:5]))})"
        ) from None


def ability_of(token_name: str) -> tuple[str | None, int | None]:
    """(ability, rung) of a token; (ability, None) for main-only; (None, None) for specials."""
    try:
        info = token_info(token_name)
    except KeyError:
        return None, None
    return info.ability, info.rung

"""The planted ground truth of the synthetic data: ten build archetypes (which abilities
each favours on mains and subs, and which main-only abilities), and which archetypes each
weapon class draws from. `coverage` labels the round-robin builds that only make every rung
occur: a device, not a preference pattern."""

from __future__ import annotations

from dataclasses import dataclass

UTILITY = ("quick_super_jump", "sub_resistance_up", "ink_resistance_up", "special_saver")
KIT_SENSITIVE = ("special_farmer", "special_nuker", "bomb_spammer")


@dataclass(frozen=True)
class Archetype:
    name: str
    mains: dict[str, float]  # standard family -> weight, for main slots
    subs: dict[str, float]  # standard family -> weight, for sub slots
    main_only: dict[str, tuple[str, float]]  # piece -> (ability, probability)


ARCHETYPES = (
    Archetype("zombie", {"quick_respawn": 3, "special_saver": 0.5, "swim_speed_up": 0.5},
              {"quick_respawn": 5, "special_saver": 1.5, "swim_speed_up": 1,
               "quick_super_jump": 0.5},
              {"head": ("comeback", 0.85), "shoes": ("stealth_jump", 0.8)}),
    Archetype("special_farmer", {"special_charge_up": 3, "special_saver": 0.5},
              {"special_charge_up": 4, "special_saver": 2, "ink_saver_main": 1},
              {"head": ("tenacity", 0.8)}),
    Archetype("bomb_spammer", {"ink_saver_sub": 2, "sub_power_up": 1.5},
              {"ink_saver_sub": 3, "sub_power_up": 3, "ink_recovery_up": 2},
              {"head": ("last_ditch_effort", 0.8)}),
    Archetype("backline_anchor", {"ink_saver_main": 2, "ink_recovery_up": 1},
              {"ink_saver_main": 2, "ink_recovery_up": 2, "quick_super_jump": 1.5,
               "special_charge_up": 0.5},
              {"clothes": ("respawn_punisher", 0.8), "shoes": ("object_shredder", 0.5)}),
    Archetype("runner", {"run_speed_up": 3, "ink_saver_main": 0.5},
              {"run_speed_up": 5, "ink_resistance_up": 1.5, "ink_saver_main": 1}, {}),
    Archetype("stealth_slayer", {"swim_speed_up": 3},
              {"swim_speed_up": 4, "quick_super_jump": 1, "ink_resistance_up": 1},
              {"clothes": ("ninja_squid", 0.9), "shoes": ("stealth_jump", 0.85)}),
    Archetype("dodger", {"intensify_action": 2.5, "swim_speed_up": 1},
              {"intensify_action": 4, "swim_speed_up": 2, "ink_recovery_up": 1},
              {"shoes": ("stealth_jump", 0.3)}),
    Archetype("frontline_tank", {"ink_resistance_up": 2, "sub_resistance_up": 2},
              {"ink_resistance_up": 3, "sub_resistance_up": 3, "run_speed_up": 1},
              {"head": ("opening_gambit", 0.7), "shoes": ("drop_roller", 0.5)}),
    Archetype("special_nuker", {"special_power_up": 3},
              {"special_power_up": 4, "special_charge_up": 2, "special_saver": 1},
              {"clothes": ("haunt", 0.5)}),
    Archetype("support_beacon", {"quick_super_jump": 2, "sub_power_up": 1},
              {"quick_super_jump": 3, "sub_power_up": 2, "special_saver": 2},
              {"clothes": ("thermal_ink", 0.5)}),
)  # fmt: skip
COVERAGE = "coverage"
ARCHETYPE_NAMES = [a.name for a in ARCHETYPES] + [COVERAGE]

# Which archetypes each weapon class draws from, with prior weights.
CLASS_POOLS: dict[str, dict[str, float]] = {
    "shooter": {"zombie": 1, "special_farmer": 1, "bomb_spammer": 1, "frontline_tank": 1,
                "support_beacon": 0.7},
    "blaster": {"frontline_tank": 1, "bomb_spammer": 1, "zombie": 0.8, "special_nuker": 0.6},
    "roller": {"stealth_slayer": 1.5, "zombie": 1, "frontline_tank": 0.6},
    "brush": {"stealth_slayer": 1.5, "zombie": 1, "special_farmer": 0.6},
    "charger": {"backline_anchor": 1.5, "bomb_spammer": 0.8, "special_farmer": 0.6},
    "slosher": {"bomb_spammer": 1, "special_nuker": 1, "frontline_tank": 0.8,
                "special_farmer": 0.6},
    "splatling": {"runner": 1.5, "backline_anchor": 1, "special_farmer": 0.5},
    "dualies": {"dodger": 1.5, "stealth_slayer": 0.8, "special_farmer": 0.6, "zombie": 0.6},
    "brella": {"frontline_tank": 1.5, "special_nuker": 1, "support_beacon": 1},
    "stringer": {"backline_anchor": 1, "runner": 1, "bomb_spammer": 0.8},
    "splatana": {"stealth_slayer": 1, "dodger": 0.8, "zombie": 1, "special_farmer": 0.6},
}  # fmt: skip

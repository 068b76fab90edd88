"""The explanation language: executable rules over a sample's input, with their text.

A rule is an OR of terms, a term an AND of conditions on the sample's input:

    swim_speed_up >= 21            the family held at 21 AP or more (its rung tokens are
                                   cumulative: the highest rung held is the AP)
    no quick_respawn               no token of the ability (a family or a main-only one)
    ninja_squid                    the main-only ability is present
    class = splatling              the weapon's class, sub or special, or the weapon itself;
    class in {dualies, splatana}   a set of them ("weapon" takes names or reference ids)

joined by `&` (or `and`) and `|` (or `or`): `run_speed_up >= 21 & class = splatling`.
`parse` reads this text with `file:column` errors; `str(rule)` writes it back; `sentence`
renders it with the game's names ("Run Speed Up at 21 AP or more, on a Splatling").
`InputTable` evaluates a rule over every sample at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches

from splat_core.domain.present import ability_name
from splat_core.domain.vocab import MAIN_ONLY, RUNGS, STANDARD
from splat_core.domain.weapons import WEAPON_CLASSES, weapon_table

KIT_KINDS = ("weapon", "class", "sub", "special")
MAX_TERMS = 4
MAX_CONDITIONS = 4  # per term


class RuleError(ValueError):
    """A rule's text or structure is invalid; the message names the column."""


@dataclass(frozen=True, order=True)
class AtLeast:
    """A family held at `ap` AP or more (`ap` is one of the rungs)."""

    ability: str
    ap: int

    def __str__(self) -> str:
        return f"{self.ability} >= {self.ap}"

    def phrase(self) -> str:
        return f"{ability_name(self.ability)} at {self.ap} AP or more"


@dataclass(frozen=True, order=True)
class Absent:
    """No token of the ability in the input."""

    ability: str

    def __str__(self) -> str:
        return f"no {self.ability}"

    def phrase(self) -> str:
        return f"no {ability_name(self.ability)}"


@dataclass(frozen=True, order=True)
class Has:
    """The main-only ability is in the input."""

    ability: str

    def __str__(self) -> str:
        return self.ability

    def phrase(self) -> str:
        return ability_name(self.ability)


@dataclass(frozen=True, order=True)
class Kit:
    """The weapon, or its class, sub or special, is one of `values` (for `weapon`: reference
    ids as text; otherwise the names of weapons.csv)."""

    kind: str
    values: tuple[str, ...]  # sorted, unique

    def __str__(self) -> str:
        shown = [_quote(_kit_display(self.kind, v)) for v in self.values]
        if len(shown) == 1:
            return f"{self.kind} = {shown[0]}"
        return f"{self.kind} in {{{', '.join(shown)}}}"

    def phrase(self) -> str:
        names = [_kit_display(self.kind, v) for v in self.values]
        if self.kind == "class":
            items = [_with_article(_class_name(n)) for n in names]
            return "on " + _or_list(items)
        if self.kind == "weapon":
            return "on " + _or_list([f"the {n}" for n in names])
        return f"with {_or_list(names)} as {self.kind}"


Condition = AtLeast | Absent | Has | Kit


@dataclass(frozen=True)
class Rule:
    """An OR of terms, each an AND of conditions."""

    terms: tuple[tuple[Condition, ...], ...]

    def __post_init__(self) -> None:
        if not self.terms or any(not t for t in self.terms):
            raise RuleError("a rule needs at least one condition in every term")
        if len(self.terms) > MAX_TERMS:
            raise RuleError(f"at most {MAX_TERMS} terms joined by '|'")
        if any(len(t) > MAX_CONDITIONS for t in self.terms):
            raise RuleError(f"at most {MAX_CONDITIONS} conditions joined by '&' in a term")

    @classmethod
    def of(cls, *terms) -> Rule:
        """Terms given as conditions or tuples of them; kit conditions of one kind standing
        alone as terms merge into one set (`class = a | class = b` is `class in {a, b}`)."""
        tuples = [tuple(t) if isinstance(t, tuple | list) else (t,) for t in terms]
        merged: dict[str, set[str]] = {}
        rest = []
        for t in tuples:
            if len(t) == 1 and isinstance(t[0], Kit):
                merged.setdefault(t[0].kind, set()).update(t[0].values)
            else:
                rest.append(tuple(dict.fromkeys(t)))
        kits = [(Kit(k, tuple(sorted(v))),) for k, v in merged.items()]
        return cls(tuple(dict.fromkeys([*rest, *kits])))

    @property
    def key(self) -> frozenset:
        """Equal for rules that say the same in another order."""
        return frozenset(frozenset(t) for t in self.terms)

    @property
    def n_conditions(self) -> int:
        return sum(len(t) for t in self.terms)

    def conditions(self) -> list[Condition]:
        return [c for t in self.terms for c in t]

    def __str__(self) -> str:
        return " | ".join(" & ".join(str(c) for c in t) for t in self.terms)

    def sentence(self) -> str:
        """'Run Speed Up at 21 AP or more, on a Splatling; or Ninja Squid'."""
        text = "; or ".join(_term_sentence(t) for t in self.terms)
        return text[:1].upper() + text[1:]


def _term_sentence(term: tuple[Condition, ...]) -> str:
    abilities = [c.phrase() for c in term if not isinstance(c, Kit)]
    kits = [c.phrase() for c in term if isinstance(c, Kit)]
    head = ", ".join(abilities)
    return ", ".join([head, *kits]) if head else " ".join(kits)


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _class_name(c: str) -> str:
    return c.title()


def _with_article(name: str) -> str:
    if name.endswith("ies"):  # Dualies
        return name
    return ("an " if name[0] in "AEIOU" else "a ") + name


def _quote(text: str) -> str:
    return text if re.fullmatch(r"[a-z][a-z0-9_]*", text) else '"' + text.replace('"', "") + '"'


# --- the kit vocabulary ----------------------------------------------------------------------


def _kit_values() -> dict[str, dict[str, str]]:
    """Per kind: normalised spelling -> canonical value."""
    table = weapon_table()
    out: dict[str, dict[str, str]] = {k: {} for k in KIT_KINDS}
    for w in table:
        out["weapon"][_norm(w.name)] = str(w.weapon_id)
        out["weapon"][str(w.weapon_id)] = str(w.weapon_id)
        out["sub"][_norm(w.sub)] = w.sub
        out["special"][_norm(w.special)] = w.special
    for c in WEAPON_CLASSES:
        out["class"][_norm(c)] = c
    return out


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower())


_KIT = _kit_values()
_WEAPON_NAMES = {str(w.weapon_id): w.name for w in weapon_table()}


def _kit_display(kind: str, value: str) -> str:
    return _WEAPON_NAMES.get(value, value) if kind == "weapon" else value


def kit_value(kind: str, text: str) -> str:
    """The canonical value of a kit name (KeyError with close matches if unknown)."""
    table = _KIT[kind]
    key = _norm(text)
    if key in table:
        return table[key]
    close = get_close_matches(key, list(table), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise KeyError(f"unknown {kind} {text!r}{hint}")


# --- parsing ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<op>>=|≥|[=&|{},])|"(?P<quoted>[^"]*)"|(?P<word>[A-Za-z0-9_.\'-]+)|(?P<bad>\S))'
)


def parse(text: str, source: str = "rule") -> Rule:
    """Read a rule's text. Errors are `RuleError("<source>:<column>: ...")`."""
    tokens = _tokens(text, source)
    pos = 0

    def fail(at: int, message: str):
        col = tokens[at][1] if at < len(tokens) else len(text) + 1
        raise RuleError(f"{source}:{col}: {message}")

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, int, str]:
        nonlocal pos
        if pos >= len(tokens):
            fail(pos, "the rule ends too early")
        pos += 1
        return tokens[pos - 1]

    def value(kind: str) -> str:
        at = pos
        tok, _, sort = take()
        if sort == "op":
            fail(at, f"expected a {kind} name, got {tok!r}")
        try:
            return kit_value(kind, tok)
        except KeyError as e:
            fail(at, e.args[0])

    def condition() -> Condition:
        at = pos
        tok, _, sort = take()
        word = tok.lower()
        if sort == "op":
            fail(at, f"expected a condition, got {tok!r}")
        if word in ("no", "not"):
            at = pos
            name = take()[0].lower()
            if name not in STANDARD and name not in MAIN_ONLY:
                fail(at, _unknown_ability(name))
            return Absent(name)
        if word in KIT_KINDS:
            at = pos
            op = take()[0].lower()
            if op == "=":
                return Kit(word, (value(word),))
            if op != "in" or take()[0] != "{":
                fail(at, f"expected '=' or 'in {{...}}' after {word!r}")
            values = [value(word)]
            while peek() == ",":
                take()
                values.append(value(word))
            if take()[0] != "}":
                fail(pos - 1, "expected '}' or ','")
            return Kit(word, tuple(sorted(set(values))))
        if word in MAIN_ONLY:
            return Has(word)
        if word in STANDARD:
            if peek() not in (">=", "≥"):
                fail(pos, f"expected '>= AP' after the family {word!r} (or write 'no {word}')")
            take()
            at = pos
            ap = take()[0]
            if not ap.isdigit():
                fail(at, f"expected an AP number, got {ap!r}")
            return AtLeast(word, _rung_at_least(int(ap), lambda m: fail(at, m)))
        fail(at, _unknown_ability(word))

    terms: list[list[Condition]] = [[condition()]]
    while pos < len(tokens):
        tok = take()[0].lower()
        if tok in ("&", "and"):
            terms[-1].append(condition())
        elif tok in ("|", "or"):
            terms.append([condition()])
        else:
            fail(pos - 1, f"expected '&' or '|', got {tok!r}")
    try:
        return Rule.of(*[tuple(t) for t in terms])
    except RuleError as e:
        raise RuleError(f"{source}:1: {e}") from None


def _tokens(text: str, source: str) -> list[tuple[str, int, str]]:
    out, i = [], 0
    text = text.rstrip()
    if not text.strip():
        raise RuleError(f"{source}:1: the rule is empty")
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m.group("bad"):
            raise RuleError(f"{source}:{m.start('bad') + 1}: unexpected {m.group('bad')!r}")
        sort = next(k for k in ("op", "quoted", "word") if m.group(k) is not None)
        out.append((m.group(sort), m.start(sort) + 1, "word" if sort == "quoted" else sort))
        i = m.end()
    return out


def _unknown_ability(name: str) -> str:
    close = get_close_matches(name, [*STANDARD, *MAIN_ONLY, *KIT_KINDS], n=2)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"unknown ability or kit {name!r}{hint}"


def _rung_at_least(ap: int, fail) -> int:
    """`>= ap` holds exactly when the highest rung held is >= the smallest rung >= ap."""
    if ap <= 0 or ap > RUNGS[-1]:
        fail(f"AP must be within 1..{RUNGS[-1]}, got {ap}")
    return next(r for r in RUNGS if r >= ap)

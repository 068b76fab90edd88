"""Choice fields of the config dataclasses: annotated with `Literal`, and checked by the
dataclass's own `__post_init__` through `check_choices`, next to the fields."""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

Device = Literal["auto", "cpu", "cuda"]  # auto: CUDA when available, else the CPU


def choices(cls: type, name: str) -> tuple:
    """The values a `Literal` field of a dataclass may take."""
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is not Literal:
        raise TypeError(f"{cls.__name__}.{name} is not a Literal field")
    return typing.get_args(hint)


def check_choices(config) -> None:
    """ValueError naming the field and its choices if a `Literal` field holds another value
    (load_config prefixes the section: `sae.arch must be one of ...`)."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if typing.get_origin(hints[f.name]) is Literal:
            allowed = typing.get_args(hints[f.name])
            value = getattr(config, f.name)
            if value not in allowed:
                raise ValueError(
                    f"{f.name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
                )

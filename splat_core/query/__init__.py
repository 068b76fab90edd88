"""The query layer: one reader over a materialized SPLAT_HOME, for the API, the UI and the CLI."""

from splat_core.query import wire
from splat_core.query.activation_list import activation_table
from splat_core.query.encode import Encoder, Encoding, Variant, WhatIf
from splat_core.query.errors import (
    DamagedError,
    MissingAssetError,
    UnknownFeatureError,
    UnknownSAEError,
    UnknownSampleError,
)
from splat_core.query.examples import Example, SampleIndex, WeaponInfo
from splat_core.query.live import LiveReader
from splat_core.query.reader import Reader
from splat_core.query.snapshot import Snapshot
from splat_core.query.tables import KeyedTable

__all__ = [
    "DamagedError",
    "Encoder",
    "Encoding",
    "Example",
    "KeyedTable",
    "LiveReader",
    "MissingAssetError",
    "Reader",
    "SampleIndex",
    "Snapshot",
    "UnknownFeatureError",
    "UnknownSAEError",
    "UnknownSampleError",
    "Variant",
    "WeaponInfo",
    "WhatIf",
    "activation_table",
    "wire",
]

"""`splat bench ...`: benchmarks (not tests) that measure splat against the seed's layouts.

They drive the real write path, start the API as a process and time HTTP; `splat_core`
keeps only the computations they call."""

from splat_cli.bench.commands import register

__all__ = ["register"]

"""Code versions: per asset, a fingerprint of the code its step runs, so that a changed step
marks exactly that asset (and, through data versions, its dependents) stale.

Derived, not kept by hand, at the grain of functions and classes (module imports would tie
every step to every module: the store's artifact readers import the model and SAE): from
the step function, every splat_core function, class and plain constant its code names is
followed, through module attributes too (`artifacts.write_samples`), recursively. The
version hashes their syntax trees (comments, docstrings and layout do not count; constants
by value). A test pins what belongs to which asset
(tests/core/pipeline/test_code_versions.py), so the derivation stays honest.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import json
import os
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path

PACKAGE = "splat_core"
CONSTANTS = (bool, int, float, str, bytes, tuple, frozenset, list, dict, type(None))


def reached(fn: Callable, package: str = PACKAGE) -> dict[str, object]:
    """{qualified name: object} of every function, class and constant of `package` that fn's
    code reaches (fn included)."""
    out: dict[str, object] = {}
    todo: list[object] = [fn]
    while todo:
        obj = todo.pop()
        name = f"{obj.__module__}.{obj.__qualname__}"
        if name in out:
            continue
        out[name] = obj
        for code, scope in _codes(obj):
            for found in _named(code, scope, package):
                if inspect.isfunction(found) or inspect.isclass(found):
                    todo.append(found)
    return out


def _codes(obj) -> list[tuple[object, dict]]:
    """(code object, globals) of a function, or of every method of a class."""
    if inspect.isfunction(obj):
        return [(obj.__code__, obj.__globals__)]
    codes = []
    for member in vars(obj).values():
        member = getattr(member, "__func__", member)  # static and class methods
        if isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member):
            codes.append((member.__code__, member.__globals__))
    return codes


def _named(code, scope: dict, package: str) -> list[object]:
    """The package's objects a code object names: globals, and attributes of modules."""
    names = _names(code)
    found = []
    for name in names:
        obj = scope.get(name)
        if inspect.ismodule(obj):
            if obj.__name__.startswith(package):
                found += [getattr(obj, a) for a in names if hasattr(obj, a)]
        elif obj is not None:
            found.append(obj)
    return [o for o in found if (getattr(o, "__module__", None) or "").startswith(package)
            or _constant_of(o, scope, package)]  # fmt: skip


def _constant_of(obj, scope: dict, package: str) -> bool:
    return isinstance(obj, CONSTANTS) and scope.get("__name__", "").startswith(package)


def _names(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


@cache
def code_version(fn: Callable, package: str = PACKAGE) -> str:
    """16 hex digits over the source of everything fn reaches."""
    digest = hashlib.sha256()
    for name, obj in sorted(reached(fn, package).items()):
        digest.update(name.encode() + b"\0" + _source(obj).encode() + b"\n")
    return digest.hexdigest()[:16]


def _source(obj) -> str:
    """The object's code as its syntax tree, without docstrings: a reworded comment or
    docstring, or a reformatting, is not a change of what it computes."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return repr(obj)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _is_docstring(node) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(getattr(node, "value", None), ast.Constant)
        and isinstance(node.value.value, str)
    )


def asset_code_version(asset: str) -> str | None:
    """The code version of the asset's step (None: an asset no step computes)."""
    return all_code_versions().get(asset)


@cache
def all_code_versions() -> dict[str, str]:
    """{asset: code version} of every step. Deriving them means importing every step (torch,
    scipy, numba) and parsing ~400 sources, seconds a `splat materialize` with nothing to do
    should not spend: they are kept in a user cache keyed by the size and mtime of every
    splat_core source file, so any edit derives them again."""
    stamp = _source_stamp()
    cached = _CACHE / f"code_versions-{stamp}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    from splat_core.pipeline.analysis_steps import ANALYSIS_STEPS
    from splat_core.pipeline.steps import STEPS

    versions = {a: code_version(step) for a, step in {**STEPS, **ANALYSIS_STEPS}.items()}
    with contextlib.suppress(OSError):  # a read-only home directory: derive them each time
        _CACHE.mkdir(parents=True, exist_ok=True)
        for old in _CACHE.glob("code_versions-*.json"):
            old.unlink(missing_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(versions, sort_keys=True))
        tmp.replace(cached)
    return versions


_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "splat"


def _source_stamp() -> str:
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        digest.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]

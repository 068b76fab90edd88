"""The import rules of docs/architecture.md, read from the source (every import statement,
module level or inside a function): the layers of splat_core, the frameworks each package
may use, no import circles, and no private names imported from another module."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGES = ("splat_core", "splat_assets", "splat_server", "splat_ui", "splat_cli")
# splat_core's layers, and the layers each may import (besides itself and the root modules).
LAYERS = {
    "domain": set(),
    "builds": {"domain"},
    "model": {"domain", "builds"},
    "sparse": set(),
    "sae": {"model", "sparse"},
    "analysis": {"domain", "builds", "sparse"},
    "explain": {"domain", "builds", "sparse"},
    "store": {"domain", "builds", "model", "sae", "sparse"},
    "pipeline": {"domain", "builds", "model", "sae", "sparse", "analysis", "explain", "store"},
    "query": {"domain", "builds", "model", "sae", "sparse", "analysis", "explain", "store",
              "labels"},
    "labels": {"store", "explain"},
    "investigate": {"domain", "builds", "store", "query", "labels", "explain"},
}  # fmt: skip
# What each package must never import (frameworks and the other front ends).
FORBIDDEN = {
    "splat_core": {"dagster", "fastapi", "starlette", "uvicorn", "streamlit", "httpx", "mcp",
                   "splat_assets", "splat_server", "splat_ui", "splat_cli"},
    "splat_assets": {"fastapi", "streamlit", "splat_server", "splat_ui", "splat_cli"},
    "splat_server": {"dagster", "streamlit", "splat_assets", "splat_ui", "splat_cli"},
    "splat_ui": {"dagster", "fastapi", "splat_assets", "splat_server", "splat_cli"},
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


@cache
def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) of every import statement."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


def targets(module: str) -> set[str]:
    """The project modules `module` imports (`from pkg import sub` counts as pkg.sub)."""
    known, out = modules(), set()
    for base, names, _ in imports(module):
        subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
        out.update(subs or ([base] if base in known else []))
    return out - {module}


def layer(module: str) -> str | None:
    """splat_core.<layer>.x -> layer; None for the root modules (splat_core.atomic, ...)."""
    parts = module.split(".")
    if len(parts) < 2 or not (ROOT / "splat_core" / parts[1]).is_dir():
        return None
    return parts[1]


def core_modules() -> list[str]:
    return [m for m in modules() if m.startswith("splat_core.")]


def test_every_layer_folder_is_declared():
    folders = {p.name for p in (ROOT / "splat_core").iterdir() if (p / "__init__.py").exists()}
    assert folders == set(LAYERS)


@pytest.mark.parametrize("module", core_modules())
def test_splat_core_layers_import_only_what_they_may(module):
    own = layer(module)
    for target in targets(module):
        if not target.startswith("splat_core."):
            continue
        other = layer(target)
        if own is None:
            assert other is None, f"root module {module} imports {target}"
        elif other is not None and other != own:
            assert other in LAYERS[own], f"{module} ({own}) imports {target} ({other})"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_keep_out_of_other_frameworks(package):
    found = [
        f"{m}:{line} imports {base}"
        for m in modules()
        if m == package or m.startswith(package + ".")
        for base, _, line in imports(m)
        if base.split(".")[0] in FORBIDDEN[package]
    ]
    assert found == []


def test_no_import_circles():
    graph = {m: targets(m) for m in modules()}
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def test_no_private_names_imported_from_another_module():
    found = [
        f"{m}:{line} imports {name} from {base}"
        for m in modules()
        for base, names, line in imports(m)
        for name in names
        if name.startswith("_") and not name.startswith("__") and base != m
    ]
    assert found == []


def test_the_checker_sees_what_it_must():
    """The rules above can fail: a known import, a known layer, a known framework use."""
    assert "splat_core.store.contract" in targets("splat_core.store.artifacts")
    assert layer("splat_core.store.artifacts") == "store" and layer("splat_core.atomic") is None
    assert any(base == "dagster" for base, _, _ in imports("splat_assets.definitions"))
    cyclic = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected(cyclic) if len(c) > 1] == [["a", "b", "c"]]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out

"""`splat verify`: every file of the served generation (and of the current versions, if
they differ) against its version's checksums."""

from __future__ import annotations

from splat_core.store import catalog, generations, lineage
from splat_core.store.homes import HomeLike
from splat_core.store.integrity import Verifier


def verify_home(home: HomeLike) -> dict:
    """{"generation", "checked", "damaged", "versions": {"key@version": {"files",
    "problems", "unchecked"}}}; every byte of every listed file is read."""
    gen = generations.served(home)
    current = lineage.entries(catalog.read_catalog(home))
    wanted = {(k, e["version"]) for k, e in current.items()}
    if gen is not None:
        wanted |= set(gen["versions"].items())
    report = {"generation": gen["id"] if gen else None, "versions": {}}
    for key, version in sorted(wanted):
        asset, _, part = key.partition("/")
        try:
            directory = catalog.version_path(home, asset, version, part or None)
        except FileNotFoundError as e:  # a remote version that cannot be fetched
            report["versions"][f"{key}@{version}"] = {"files": 0, "problems": [str(e)]}
            continue
        if not directory.is_dir():
            problems, files, unchecked = [f"{key} version {version}: missing"], 0, False
        else:
            verifier = Verifier(directory)
            problems, unchecked = verifier.verify_all(), not verifier.checked
            files = len(verifier.manifest["files"]) if verifier.checked else 0
        report["versions"][f"{key}@{version}"] = {
            "files": files, "problems": problems, "unchecked": unchecked,
        }  # fmt: skip
    report["checked"] = len(report["versions"])
    report["damaged"] = sum(bool(v["problems"]) for v in report["versions"].values())
    return report

"""The content fingerprint a step reports before its publish: the manifest reuses its hashes
(no file is hashed twice) unless a file changed in between."""

from __future__ import annotations

from splat_core.store import integrity


def test_the_manifest_reuses_the_hashes_of_the_fingerprint(tmp_path, monkeypatch):
    tmp_path = tmp_path / "staged"
    tmp_path.mkdir()
    (tmp_path / "a.bin").write_bytes(b"one")
    (tmp_path / "b.bin").write_bytes(b"two")
    calls = []
    real = integrity.hash_file
    monkeypatch.setattr(integrity, "hash_file", lambda p: calls.append(p) or real(p))
    fingerprint = integrity.content_fingerprint(tmp_path)
    assert len(calls) == 2
    manifest = integrity.write_manifest(tmp_path, asset="x")
    assert len(calls) == 2 and manifest["fingerprint"] == fingerprint
    assert manifest["files"]["a.bin"] == {"sha256": real(tmp_path / "a.bin"), "bytes": 3}
    (tmp_path / "b.bin").write_bytes(b"three")  # changed: hashed again, and only it
    again = integrity.write_manifest(tmp_path, asset="x")
    assert [p.name for p in calls[2:]] == ["b.bin"] and again["fingerprint"] != fingerprint

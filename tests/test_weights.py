"""Weight registry: lookup order, verification, refusal of wrong files, import."""

from __future__ import annotations

import hashlib

import pytest

from stfbench import weights
from stfbench.errors import WeightsError
from stfbench.metrics import build_metrics
from stfbench.weights import registry


def _fake_entry(monkeypatch, data: bytes, **overrides):
    """Make `syncnet_v2`'s entry describe `data` (so tests need no 54 MB file)."""
    base = registry.entry("syncnet_v2")
    fields = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), **overrides}
    fake = registry.WeightEntry(**{**base.__dict__, **fields})
    monkeypatch.setitem(registry.entries(), "syncnet_v2", fake)
    return fake


def test_every_entry_is_complete_and_hashes_are_hex():
    found = registry.entries()
    for required in ("syncnet_v2", "pt_inception", "s3fd", "sfd_face", "fan_2d", "dlib_68", "lpips_alex",
                     "lpips_alex_head", "wav2lip", "wav2lip_gan", "wav2lip_sd_gan", "wav2lip_sd_nogan",
                     "lipsync_expert"):  # fmt: skip
        assert required in found
    for item in found.values():
        assert item.filename and item.purpose and item.licence and item.source
        if item.sha256 is not None:
            assert len(item.sha256) == 64 and int(item.sha256, 16) >= 0
        if item.committed:
            assert item.sha256 and item.command and item.seed is not None
    assert found["wav2lip_sd_nogan"].sha256 is None  # unknown upstream: recorded as unknown, not invented


def test_missing_weight_names_file_user_and_how_to_get(monkeypatch, tmp_path):
    monkeypatch.setenv("STFBENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsError) as error:
        build_metrics("lse", None, "cpu")
    message = str(error.value)
    assert "syncnet_v2.model" in message and "needed by lse" in message and "stfbench weights import" in message
    assert "\n" not in message
    assert weights.verify("syncnet_v2") == "missing"


def test_wrong_hash_is_refused_unless_trusted(monkeypatch, tmp_path):
    monkeypatch.setenv("STFBENCH_WEIGHTS", str(tmp_path))
    _fake_entry(monkeypatch, b"the real bytes")
    (tmp_path / "syncnet_v2.model").write_bytes(b"the real bytez")
    assert weights.verify("syncnet_v2") == "wrong-hash"
    with pytest.raises(WeightsError, match="trust-unverified"):
        weights.resolve("syncnet_v2")
    trusted = weights.resolve_verified("syncnet_v2", trust_unverified=True)
    assert not trusted.verified and "trusted despite" in trusted.provenance()["note"]
    (tmp_path / "syncnet_v2.model").write_bytes(b"short")
    assert weights.verify("syncnet_v2") == "wrong-size"


def test_env_override_and_verified_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("STFBENCH_WEIGHTS", str(tmp_path / "empty"))
    data = b"syncnet bytes"
    _fake_entry(monkeypatch, data)
    elsewhere = tmp_path / "mine.model"
    elsewhere.write_bytes(data)
    monkeypatch.setenv("STFBENCH_WEIGHT_SYNCNET_V2", str(elsewhere))
    resolved = weights.resolve_verified("syncnet_v2")
    assert resolved.path == elsewhere and resolved.verified
    assert weights.verify("syncnet_v2") == "ok"


def test_import_matches_by_sha256_and_rejects_unknown_files(monkeypatch, tmp_path):
    monkeypatch.setenv("STFBENCH_WEIGHTS", str(tmp_path / "store"))
    data = b"weights to import"
    _fake_entry(monkeypatch, data)
    source = tmp_path / "downloaded.bin"
    source.write_bytes(data)
    item = weights.import_file(source)
    assert item.id == "syncnet_v2"
    assert (tmp_path / "store" / "syncnet_v2.model").read_bytes() == data
    other = tmp_path / "other.bin"
    other.write_bytes(b"something else")
    with pytest.raises(WeightsError, match="matches no registry entry"):
        weights.import_file(other)
    with pytest.raises(WeightsError, match="does not match syncnet_v2"):
        weights.import_file(other, as_id="syncnet_v2")


def test_package_shipped_files_are_found_and_verified():
    assert weights.verify("lpips_alex_head") == "ok"
    assert weights.verify("dlib_68") == "ok"
    with pytest.raises(WeightsError, match="unknown weight id"):
        weights.entry("no_such_weight")

"""Protocol loading/validation, clip-list count and hash pins, pairing and reference rules."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from typer.testing import CliRunner

import stfbench.synth
from stfbench.cli import app
from stfbench.errors import ProtocolError
from stfbench.hashing import canonical_ids_sha256
from stfbench.protocols import PROTOCOL_DIR, list_protocols, load_protocol, resolve_clip_list, seeded_derangement
from stfbench.protocols.spec import ReferenceSpec

SHIPPED = ["lrs2", "lrs2-wav2lip", "lrw", "lrw-wav2lip", "synthetic", "synthetic-cross"]


def _custom(tmp_path: Path, base: str = "lrs2", **changes: dict) -> Path:
    """A copy of a shipped protocol with some tables updated (None deletes a key)."""
    data = tomllib.loads((PROTOCOL_DIR / f"{base}.toml").read_text())
    for section, values in changes.items():
        target = data if section == "top" else data.setdefault(section, {})
        for key, value in values.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    path = tmp_path / f"custom-{base}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def _lrs2_root(tmp_path: Path, ids: list[str]) -> Path:
    root = tmp_path / "lrs2"
    (root / "main").mkdir(parents=True)
    tags = ("NF", "MV")
    (root / "test.txt").write_text("".join(f"{clip} {tags[i % 2]}\n" for i, clip in enumerate(ids)))
    return root


def test_shipped_protocols_load_with_distinct_stable_hashes() -> None:
    assert list_protocols() == SHIPPED
    protocols = [load_protocol(name) for name in SHIPPED]
    assert [p.id for p in protocols] == SHIPPED
    hashes = {p.hash for p in protocols}
    assert len(hashes) == len(SHIPPED)
    assert all(load_protocol(p.id).hash == p.hash for p in protocols)
    for protocol in protocols:
        json.dumps(protocol.to_dict())  # JSON-able
        assert protocol.fps == 25.0 and protocol.sample_rate == 16000


def test_pinned_counts_and_hashes() -> None:
    lrs2, lrw = load_protocol("lrs2"), load_protocol("lrw")
    assert lrs2.clip_list.count == 1243 and lrs2.clip_list.file == "test.txt"
    assert lrw.clip_list.count == 25000 and lrw.clip_list.source == "layout"
    pairs = load_protocol("lrs2-wav2lip")
    assert (pairs.clip_list.count, pairs.clip_list.hash_kind, pairs.pairing.mode) == (14239, "file", "cross")
    assert load_protocol("lrw-wav2lip").clip_list.count == 28000
    synthetic = load_protocol("synthetic")
    assert synthetic.synthetic is not None and synthetic.crop.size == 96
    assert synthetic.metrics.weights["syncnet"] == "syncnet_synthetic"


def test_protocol_hash_changes_with_content(tmp_path: Path) -> None:
    original = load_protocol("lrs2")
    same = load_protocol(_custom(tmp_path))
    assert same.hash == original.hash  # the path it was read from is not content
    changed = load_protocol(_custom(tmp_path, crop={"size": 96}))
    assert changed.hash != original.hash


def test_lse_precision_is_a_metric_setting_hashed_only_when_not_fp32(tmp_path: Path) -> None:
    original = load_protocol("lrs2")
    assert "lse_precision" not in original.to_dict()["metrics"]  # fp32 protocols keep their pinned hashes
    assert load_protocol(_custom(tmp_path, metrics={"lse_precision": "fp32"})).hash == original.hash
    reduced = load_protocol(_custom(tmp_path, metrics={"lse_precision": "bf16"}))
    assert reduced.hash != original.hash and reduced.metrics.sections()["lse"]["precision"] == "bf16"
    with pytest.raises(ProtocolError, match="lse_precision"):
        load_protocol(_custom(tmp_path, metrics={"lse_precision": "int8"}))


def test_lrs2_official_list_verifies(tmp_path: Path, shared_protocol_data: Path) -> None:
    ids = (shared_protocol_data / "lrs2_test_ids.txt").read_text().split()
    root = _lrs2_root(tmp_path, ids[::-1])  # order does not matter
    items = load_protocol("lrs2").items(root)
    assert len(items) == 1243
    first = items[0]
    assert first.item_id == first.video_id == first.audio_id == sorted(ids)[0]
    assert first.video_path == root / "main" / f"{first.video_id}.mp4" == first.audio_path


def test_lrs2_list_with_a_changed_or_missing_id_is_rejected(tmp_path: Path, shared_protocol_data: Path) -> None:
    ids = (shared_protocol_data / "lrs2_test_ids.txt").read_text().split()
    protocol = load_protocol("lrs2")
    with pytest.raises(ProtocolError, match="expects 1243 clips, found 1242"):
        protocol.items(_lrs2_root(tmp_path / "a", ids[:-1]))
    with pytest.raises(ProtocolError, match="SHA-256") as raised:
        protocol.items(_lrs2_root(tmp_path / "b", [*ids[:-1], "6330311066473698535/99999"]))
    assert "test.txt" in str(raised.value)


def test_lrs2_root_inside_mvlrs_v1_and_list_in_parent(tmp_path: Path) -> None:
    (tmp_path / "mvlrs_v1" / "main" / "123").mkdir(parents=True)
    (tmp_path / "test.txt").write_text("123/00001 NF\n123/00002 MV\n")
    protocol = load_protocol(_custom(tmp_path, clip_list={"count": 2, "sha256": None}))
    items = protocol.items(tmp_path)
    assert [i.video_path for i in items] == [tmp_path / "mvlrs_v1" / "main" / f"123/0000{n}.mp4" for n in (1, 2)]


def test_lrw_layout_enumeration_verifies(tmp_path: Path, shared_protocol_data: Path) -> None:
    ids = (shared_protocol_data / "lrw_test_ids.txt").read_text().split()
    root = tmp_path / "lipread_mp4"
    for word in {clip.split("/")[0] for clip in ids}:
        (root / word / "test").mkdir(parents=True)
        (root / word / "train").mkdir()
    for clip in ids:
        (root / f"{clip}.mp4").touch()
    (root / "ABOUT" / "train" / "ABOUT_00001.mp4").touch()  # other splits are not counted
    items = load_protocol("lrw").items(tmp_path)  # root holding lipread_mp4/
    assert len(items) == 25000
    assert items[0].video_path == root / "ABOUT" / "test" / "ABOUT_00001.mp4"
    (root / "ABOUT" / "test" / "ABOUT_00001.mp4").unlink()
    with pytest.raises(ProtocolError, match="found 24999"):
        load_protocol("lrw").items(root)


def test_wav2lip_lrs2_pairs(tmp_path: Path, shared_protocol_data: Path) -> None:
    root = tmp_path / "lrs2"
    (root / "main").mkdir(parents=True)
    shutil.copy(shared_protocol_data / "wav2lip" / "lrs2.txt", root / "lrs2.txt")
    items = load_protocol("lrs2-wav2lip").items(root)
    assert len(items) == 14239 == len({i.item_id for i in items})
    first_line = (root / "lrs2.txt").read_text().splitlines()[0].split()
    item = next(i for i in items if (i.audio_id, i.video_id) == tuple(first_line))
    assert item.item_id == f"{first_line[0]}__{first_line[1]}"
    assert item.audio_path == root / "main" / f"{first_line[0]}.mp4"
    (root / "lrs2.txt").write_text((root / "lrs2.txt").read_text().replace("00011", "00012", 1))
    with pytest.raises(ProtocolError, match="SHA-256"):
        load_protocol("lrs2-wav2lip").items(root)


def test_wav2lip_lrw_short_ids_map_to_test_folders(tmp_path: Path, shared_protocol_data: Path) -> None:
    root = tmp_path / "lrw"
    root.mkdir()
    pairs_file = tmp_path / "elsewhere.txt"
    shutil.copy(shared_protocol_data / "wav2lip" / "lrw.txt", pairs_file)
    items = load_protocol("lrw-wav2lip").items(root, list_file=pairs_file)
    assert len(items) == 28000
    item = next(i for i in items if i.item_id == "BRING/test/BRING_00018__WESTERN/test/WESTERN_00039")
    assert (item.audio_id, item.video_id) == ("BRING/test/BRING_00018", "WESTERN/test/WESTERN_00039")
    assert item.video_path == root / "WESTERN" / "test" / "WESTERN_00039.mp4"


def test_missing_list_and_missing_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "main").mkdir()
    with pytest.raises(ProtocolError, match=r"test\.txt not found"):
        load_protocol("lrs2").items(tmp_path)
    monkeypatch.delenv("STFBENCH_LRS2_ROOT", raising=False)
    with pytest.raises(ProtocolError, match="STFBENCH_LRS2_ROOT"):
        load_protocol("lrs2").items()
    monkeypatch.setenv("STFBENCH_LRS2_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(ProtocolError, match=r"\(\$STFBENCH_LRS2_ROOT\) does not exist"):
        load_protocol("lrs2").items()
    (tmp_path / "file").write_text("")
    with pytest.raises(ProtocolError, match=r"\(--root\) is not a directory"):
        load_protocol("lrs2").items(tmp_path / "file")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a/1 NF\nb/2 NF extra\n", "line 2"),
        ("a/1\n../etc NF\n", "malformed clip id"),
        ("a/1\na/1\n", "more than once"),
    ],
)
def test_malformed_lists(tmp_path: Path, content: str, message: str) -> None:
    root = _lrs2_root(tmp_path, [])
    (root / "test.txt").write_text(content)
    with pytest.raises(ProtocolError, match=message):
        load_protocol("lrs2").items(root)


def test_malformed_pairs_file(tmp_path: Path) -> None:
    root = _lrs2_root(tmp_path, [])
    (root / "lrs2.txt").write_text("a/1 b/2\na/3\n")
    with pytest.raises(ProtocolError, match="line 2"):
        load_protocol("lrs2-wav2lip").items(root)


def test_seeded_derangement_and_cross_pairing(tmp_path: Path) -> None:
    ids = [f"p/{n:05d}" for n in range(30)]
    first, again = seeded_derangement(ids, 3), seeded_derangement(list(reversed(ids)), 3)
    assert first == again and sorted(first) == ids
    assert all(a != v for a, v in zip(first, ids, strict=True))
    assert seeded_derangement(ids, 4) != first
    root = _lrs2_root(tmp_path, ids)
    protocol = load_protocol(
        _custom(tmp_path, clip_list={"count": 30, "sha256": canonical_ids_sha256(ids)}, pairing={"mode": "cross"})
    )
    items = protocol.items(root)
    assert len(items) == 30 and all(i.audio_id != i.video_id for i in items)
    assert all(i.item_id == f"{i.audio_id}__{i.video_id}" for i in items)
    with pytest.raises(ProtocolError, match="at least two"):
        seeded_derangement(["p/1"], 0)


def test_reference_rules() -> None:
    assert ReferenceSpec("same-frame").indices("x", 4).tolist() == [0, 1, 2, 3]
    assert ReferenceSpec("first-frame").indices("x", 3).tolist() == [0, 0, 0]
    seeded = ReferenceSpec("seeded-frame", seed=1)
    picks = {int(seeded.indices(f"clip{n}", 50)[0]) for n in range(40)}
    assert len(picks) > 10  # spread over the clip
    assert np.array_equal(seeded.indices("clip1", 50), seeded.indices("clip1", 50))
    assert len(set(seeded.indices("clip1", 50).tolist())) == 1
    assert ReferenceSpec("seeded-frame", seed=2).indices("clip1", 1000)[0] != seeded.indices("clip1", 1000)[0]


def test_synthetic_uses_the_generator_and_verifies_the_pinned_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    ids = ["spk0/00001", "spk0/00002", "spk1/00001"]

    def fake_corpus(root=None, **spec):
        calls.append(spec)
        if not calls[1:]:
            _lrs2_root(tmp_path, ids)
        return tmp_path / "lrs2"

    monkeypatch.setattr(stfbench.synth, "ensure_corpus", fake_corpus, raising=False)
    protocol = load_protocol("synthetic")
    assert protocol.clip_list.count == 40
    # A generated test list that is not the pinned one (another generator version, say) is refused.
    with pytest.raises(ProtocolError, match="40"):
        resolve_clip_list(protocol)
    assert calls[0] == {"speakers": 4, "clips": 48, "seed": 0, "layout": "lrs2", "duration_s": 3.0, "image_size": 160}
    unpinned = resolve_clip_list(protocol, verify=False)
    assert unpinned.sha256 == canonical_ids_sha256(ids)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"crop": {"detector": "mtcnn"}}, "detector"),
        ({"crop": {"size": "128"}}, "wrong type"),
        ({"crop": {"sizee": 128}}, "unknown key"),
        ({"top": {"fps": None}}, "missing key fps"),
        ({"clip_list": {"sha256": "abc"}}, "64 lowercase hex"),
        ({"metrics": {"names": ["psnr", "fvd"]}}, "fvd"),
        ({"pairing": {"pairs_file": "x.txt"}}, "pairs_file"),
        ({"top": {"fps": 0}}, "positive"),
        ({"top": {"version": True}}, "wrong type"),
    ],
)
def test_invalid_protocol_files(tmp_path: Path, changes: dict, message: str) -> None:
    path = _custom(tmp_path, **changes)
    with pytest.raises(ProtocolError, match=message) as raised:
        load_protocol(path)
    assert str(path) in str(raised.value)


def test_unknown_name_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="shipped: lrs2"):
        load_protocol("lrs3")
    bad = tmp_path / "bad.toml"
    bad.write_text("id = \n")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(bad)
    with pytest.raises(ProtocolError, match="not found"):
        load_protocol(tmp_path / "missing.toml")


def test_metric_sections() -> None:
    sections = load_protocol("lrs2").metrics.sections()
    assert sections["lse"] == {"variant": "fullframe224", "precision": "fp32", "weights": "syncnet_v2"}
    assert sections["lmd"]["backend"] == "dlib" and sections["ssim"]["sigma"] == 1.5


def test_cli_protocols_list_and_show() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["protocols", "list"], terminal_width=200)
    assert listed.exit_code == 0
    for name in SHIPPED:
        assert name in listed.output
    shown = runner.invoke(app, ["protocols", "show", "lrw", "--json"])
    assert shown.exit_code == 0
    content = json.loads(shown.output)
    assert content["hash"] == load_protocol("lrw").hash and content["clip_list"]["count"] == 25000


def test_reference_exclusion_needs_a_single_reference_frame(tmp_path: Path) -> None:
    text = (PROTOCOL_DIR / "synthetic.toml").read_text()
    assert "exclude_from_paired_metrics = true" in text
    assert load_protocol("synthetic").reference.exclude_from_paired_metrics
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('rule = "seeded-frame"', 'rule = "same-frame"'))
    with pytest.raises(ProtocolError, match=r"bad\.toml.*exclude_from_paired_metrics"):
        load_protocol(bad)

"""Layout readers on generated LRS2/LRW-shaped trees and `datasets check` on good and bad clips."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.datasets import check_dataset, clip_path, layout_of, read_layout, read_pairs
from stfbench.datasets.layout import normalise_id
from stfbench.errors import ProtocolError
from stfbench.hashing import canonical_ids_sha256
from stfbench.media import write_clip
from stfbench.protocols import PROTOCOL_DIR, load_protocol


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def _lrs2_tree(root: Path) -> Path:
    for clip in ("100/00001", "100/00002", "200/00001", "300/00007"):
        _touch(root / "main" / f"{clip}.mp4")
    _touch(root / "pretrain" / "900" / "00003.mp4")
    (root / "train.txt").write_text("100/00001\n100/00002\n")
    (root / "val.txt").write_text("200/00001\n")
    (root / "test.txt").write_text("300/00007 NF\n300/00008 MV\n")  # 300/00008 is not on disk
    return root


def _lrw_tree(root: Path) -> Path:
    for word in ("ABOUT", "WORLD"):
        for split in ("train", "val", "test"):
            for number in (1, 2):
                _touch(root / word / split / f"{word}_{number:05d}.mp4")
    (root / "ABOUT" / "test" / "ABOUT_00001.txt").write_text("Text: ABOUT\n")  # transcripts are ignored
    return root


def test_lrs2_layout_reader(tmp_path: Path) -> None:
    root = _lrs2_tree(tmp_path / "lrs2")
    assert read_layout("lrs2", root, "train") == ["100/00001", "100/00002"]
    assert read_layout("lrs2", root, "val") == ["200/00001"]
    assert read_layout("lrs2", root, "test") == ["300/00007"]  # the NF/MV token is dropped, absent files skipped
    assert read_layout("lrs2", root, "pretrain") == ["900/00003"]
    assert clip_path("lrs2", root, "900/00003", "pretrain") == root / "pretrain" / "900" / "00003.mp4"
    with pytest.raises(ProtocolError, match="unknown LRS2 split"):
        read_layout("lrs2", root, "dev")
    (root / "val.txt").unlink()
    with pytest.raises(ProtocolError, match=r"val\.txt not found"):
        read_layout("lrs2", root, "val")


def test_lrs2_layout_under_mvlrs_v1_with_lists_beside_it(tmp_path: Path) -> None:
    base = _lrs2_tree(tmp_path / "download" / "mvlrs_v1")
    for name in ("train.txt", "val.txt", "test.txt"):
        (base / name).rename(tmp_path / "download" / name)
    assert read_layout("lrs2", tmp_path / "download", "train") == ["100/00001", "100/00002"]


def test_lrw_layout_reader(tmp_path: Path) -> None:
    root = _lrw_tree(tmp_path / "lipread_mp4")
    expected = ["ABOUT/test/ABOUT_00001", "ABOUT/test/ABOUT_00002", "WORLD/test/WORLD_00001", "WORLD/test/WORLD_00002"]
    assert read_layout("lrw", root, "test") == expected
    assert read_layout("lrw", tmp_path, "test") == expected  # the folder holding lipread_mp4/ also works
    assert len(read_layout("lrw", root, "train")) == 4
    assert clip_path("lrw", tmp_path, expected[0]) == root / "ABOUT" / "test" / "ABOUT_00001.mp4"
    with pytest.raises(ProtocolError, match="unknown LRW split"):
        read_layout("lrw", root, "pretrain")


def test_short_lrw_ids_and_pairs(tmp_path: Path) -> None:
    assert normalise_id("lrw", "BRING_00018", "test") == "BRING/test/BRING_00018"
    assert normalise_id("lrs2", "123/00001", "test") == "123/00001"
    with pytest.raises(ProtocolError, match="malformed LRW clip id"):
        normalise_id("lrw", "BRING", "test")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("BRING_00018 WESTERN_00039\n\nGIVEN_00006 PRIME_00024\n")
    assert read_pairs(pairs, "lrw", "test") == [
        ("BRING/test/BRING_00018", "WESTERN/test/WESTERN_00039"),
        ("GIVEN/test/GIVEN_00006", "PRIME/test/PRIME_00024"),
    ]


def test_synthetic_corpus_shape_is_detected(tmp_path: Path) -> None:
    assert layout_of("synthetic", _lrs2_tree(tmp_path / "a")) == "lrs2"
    assert layout_of("synthetic", _lrw_tree(tmp_path / "b")) == "lrw"
    val = read_layout("synthetic", tmp_path / "b", "val")
    assert val == [f"{word}/val/{word}_0000{n}" for word in ("ABOUT", "WORLD") for n in (1, 2)]


def _frames(count: int) -> np.ndarray:
    return np.random.default_rng(count).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)


def _tone(frames: int, rate: int = 16000) -> np.ndarray:
    return (0.3 * np.sin(np.arange(frames * rate // 25) * 0.1)).astype(np.float32)


def _protocol_for(tmp_path: Path, ids: list[str]) -> Path:
    data = tomllib.loads((PROTOCOL_DIR / "lrs2.toml").read_text())
    data["id"] = "mini-lrs2"
    data["clip_list"].update(count=len(ids), sha256=canonical_ids_sha256(ids))
    path = tmp_path / "mini-lrs2.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def _bad_clips_tree(root: Path) -> list[str]:
    """One clip per problem kind (written as .mp4 names, FFV1/MKV content: the reader goes by content)."""
    main = root / "main" / "500"
    main.mkdir(parents=True)
    write_clip(main / "00001.mkv", _frames(10), _tone(10)).rename(main / "00001.mp4")  # good
    write_clip(main / "00002.mkv", _frames(20), _tone(10), fps=50).rename(main / "00002.mp4")  # 50 fps
    write_clip(main / "00003.mkv", _frames(10), None).rename(main / "00003.mp4")  # no audio
    write_clip(main / "00004.mkv", _frames(10), _tone(10, 22050), sample_rate=22050).rename(main / "00004.mp4")
    (main / "00005.mp4").write_bytes(b"\x00" * 300)  # corrupt
    data = write_clip(main / "00006.mkv", _frames(50), _tone(50)).read_bytes()
    (main / "00006.mp4").write_bytes(data[: len(data) // 2])  # truncated: header fine, frames missing
    (main / "00006.mkv").unlink()
    ids = [f"500/0000{n}" for n in range(1, 8)]  # 500/00007 is missing
    (root / "test.txt").write_text("".join(f"{clip} NF\n" for clip in ids))
    return ids


def test_check_dataset_finds_every_problem(tmp_path: Path) -> None:
    ids = _bad_clips_tree(tmp_path / "root")
    protocol = load_protocol(_protocol_for(tmp_path, ids))
    report = check_dataset(protocol, tmp_path / "root")
    assert report.list_error is None and report.expected == 7 and report.found == 6
    assert report.missing == ["500/00007"]
    assert [p.clip_id for p in report.unreadable] == ["500/00005"]
    assert sorted(p.clip_id for p in report.wrong_rate) == ["500/00002", "500/00004"]
    assert any("50 fps" in p.reason for p in report.wrong_rate)
    assert any("22050 Hz" in p.reason for p in report.wrong_rate)
    assert [p.clip_id for p in report.no_audio] == ["500/00003"]
    assert not report.ok
    deep = check_dataset(protocol, tmp_path / "root", decode=True)
    assert sorted(p.clip_id for p in deep.unreadable) == ["500/00005", "500/00006"]
    assert any("truncated" in p.reason for p in deep.unreadable)


def test_check_dataset_ok_and_list_mismatch(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "main" / "7").mkdir(parents=True)
    ids = ["7/00001", "7/00002"]
    for clip in ids:
        write_clip(root / "main" / f"{clip}.mkv", _frames(6), _tone(6)).rename(root / "main" / f"{clip}.mp4")
    (root / "test.txt").write_text("7/00001 NF\n7/00002 MV\n")
    protocol = load_protocol(_protocol_for(tmp_path, ids))
    report = check_dataset(protocol, root)
    assert report.ok and report.found == 2 and report.clip_list_sha256 == canonical_ids_sha256(ids)
    official = check_dataset(load_protocol("lrs2"), root)  # the pinned official list does not match
    assert not official.ok and "expects 1243 clips" in (official.list_error or "") and official.found == 2


def test_check_without_list_or_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "main").mkdir()
    report = check_dataset(load_protocol("lrs2"), tmp_path)
    assert not report.ok and report.expected == 1243 and report.found == 0 and "test.txt" in (report.list_error or "")
    monkeypatch.delenv("STFBENCH_LRS2_ROOT", raising=False)
    with pytest.raises(ProtocolError, match="no lrs2 dataset root: pass --root or set STFBENCH_LRS2_ROOT"):
        check_dataset(load_protocol("lrs2"))
    with pytest.raises(ProtocolError, match="does not exist"):
        check_dataset(load_protocol("lrs2"), tmp_path / "nowhere")


def test_cli_datasets_check_names_a_missing_root(stfbench_script, tmp_path: Path, monkeypatch) -> None:
    """One line naming the root (or how to give one) and exit 2: not a table of zeros "under None"."""
    monkeypatch.delenv("STFBENCH_LRS2_ROOT", raising=False)
    nowhere = tmp_path / "nowhere"
    for extra, message in (
        ([], "error: no lrs2 dataset root: pass --root or set STFBENCH_LRS2_ROOT"),
        (["--root", str(nowhere)], f"error: {nowhere}: lrs2 dataset root (--root) does not exist"),
    ):
        result = stfbench_script("datasets", "check", "--dataset", "lrs2", *extra)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [message] and result.stdout == ""


def test_cli_datasets_check_exit_codes(tmp_path: Path) -> None:
    ids = _bad_clips_tree(tmp_path / "root")
    protocol = _protocol_for(tmp_path, ids)
    runner = CliRunner()
    args = ["datasets", "check", "--dataset", "lrs2", "--protocol", str(protocol), "--root", str(tmp_path / "root")]
    bad = runner.invoke(app, args, terminal_width=200)
    assert bad.exit_code == 1
    assert "missing: 500/00007" in bad.output and "not ready" in bad.output
    for clip in ids[1:]:  # keep only the good clip
        (tmp_path / "root" / "main" / f"{clip}.mp4").unlink(missing_ok=True)
    (tmp_path / "root" / "test.txt").write_text("500/00001 NF\n")
    good_protocol = _protocol_for(tmp_path, ids[:1])
    good = runner.invoke(app, [*args[:5], str(good_protocol), *args[6:]], terminal_width=200)
    assert good.exit_code == 0, good.output
    assert "ok" in good.output


def test_lrw_check_with_an_id_list_names_missing_clips(tmp_path: Path) -> None:
    root = tmp_path / "lrw"
    ids = ["ABOUT/test/ABOUT_00001", "ABOUT/test/ABOUT_00002", "WORLD/test/WORLD_00001"]
    for clip in ids[:2]:
        _touch(root / f"{clip}.mp4")
    data = tomllib.loads((PROTOCOL_DIR / "lrw.toml").read_text())
    data["clip_list"].update(count=3, sha256=canonical_ids_sha256(ids))
    protocol = load_protocol(_write_toml(tmp_path / "mini-lrw.toml", data))
    from_tree = check_dataset(protocol, root)
    assert (
        from_tree.found == 2 and from_tree.missing == [] and "expects 3 clips, found 2" in (from_tree.list_error or "")
    )
    id_list = tmp_path / "lrw_test_ids.txt"
    id_list.write_text("WORLD_00001\nABOUT_00001\nABOUT_00002\n")  # short ids are completed with word/split
    from_list = check_dataset(protocol, root, list_file=id_list)
    assert from_list.list_error is None and from_list.missing == ["WORLD/test/WORLD_00001"]
    assert [p.clip_id for p in from_list.unreadable] == ids[:2]  # empty files


def _write_toml(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data))
    return path

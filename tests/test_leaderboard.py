"""Leaderboard: fixed run summaries → exact Markdown/CSV/LaTeX text, best-value rules, selection, LaTeX compile."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stfbench.errors import StfbenchError
from stfbench.leaderboard import build_leaderboard, render

EXPECTED = Path(__file__).parent / "fixtures" / "leaderboard"
PROTOCOLS = {
    "lrw": {"id": "lrw", "hash": "a" * 64, "dataset": "lrw", "lse_variant": "fullframe224", "version": "1"},
    "lrs2": {"id": "lrs2", "hash": "b" * 64, "dataset": "lrs2", "lse_variant": "fullframe224", "version": "1"},
}
SYNCNET = {
    "lse[fullframe224,syncnet_v2]": {"weights": {"syncnet": {"id": "syncnet_v2", "sha256": "9" * 64, "verified": True}}}
}


def _write_run(root: Path, label: str, protocol: str, values: dict, n=(10, 10), control=False, gt=False) -> Path:
    run = root / f"{label}-{protocol}"
    run.mkdir(parents=True)
    metrics = {k: {"mean": v, "ci95": [v - 0.1, v + 0.1], "n": n[0], "n_finite": n[0]} for k, v in values.items()}
    summary = {
        "protocol": PROTOCOLS[protocol],
        "model": {"label": label, "is_control": control, "uses_ground_truth_video": gt},
        "metrics": metrics,
        "n_scored": n[0],
        "n_expected": n[1],
        "failures": {},
        "metric_settings": SYNCNET,
        "stfbench_version": "0.1.0",
    }
    (run / "summary.json").write_text(json.dumps(summary))
    return run


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        _write_run(tmp_path, "synctalkface", "lrw", {"psnr": 33.1264, "ssim": 0.8931, "lse_d": 7.013, "lse_c": 6.619}),
        _write_run(tmp_path, "synctalkface", "lrs2", {"psnr": 32.529, "ssim": 0.876, "lse_d": 6.352, "lse_c": 7.925}),
        _write_run(tmp_path, "wav2lip", "lrw", {"psnr": 32.147, "ssim": 0.875, "lse_d": 6.617, "lse_c": 7.237}),
        _write_run(
            tmp_path, "wav2lip", "lrs2", {"psnr": 31.274, "ssim": 0.837, "lse_d": 5.995, "lse_c": 8.797}, n=(1240, 1243)
        ),
        _write_run(tmp_path, "static", "lrs2", {"psnr": 25.0, "ssim": 0.7, "lse_d": 11.0, "lse_c": 0.5}, control=True),
        _write_run(
            tmp_path,
            "ground-truth",
            "lrs2",
            {"psnr": float("inf"), "ssim": 1.0, "lse_d": 5.0, "lse_c": 9.5},
            control=True,
            gt=True,
        ),
    ]


MARKDOWN = (EXPECTED / "expected.md").read_text()

CSV = (EXPECTED / "expected.csv").read_text()

LATEX_TABULAR = (EXPECTED / "expected_tabular.tex").read_text()


def test_markdown_and_csv_match_expected_text(runs: list[Path]) -> None:
    board = build_leaderboard(runs)
    assert render(board, "markdown") == MARKDOWN
    assert render(board, "csv") == CSV


def test_latex_structure_and_escaping(runs: list[Path]) -> None:
    text = render(build_leaderboard(runs), "latex")
    assert LATEX_TABULAR in text
    assert text.startswith("\\documentclass{article}") and "\\usepackage{booktabs}" in text
    assert text.rstrip().endswith("\\end{document}")
    assert "\\caption{Protocols: LRW = lrw (sha256 aaaaaaaaaaaa, own audio, LSE fullframe224)" in text
    fragment = render(build_leaderboard(runs), "latex", standalone=False)
    assert fragment.startswith("\\begin{table}") and "documentclass" not in fragment


def test_reduced_precision_lse_is_named_in_the_protocol_note(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(PROTOCOLS, "lrw", {**PROTOCOLS["lrw"], "hash": "c" * 64, "lse_precision": "bf16"})
    run = _write_run(tmp_path, "synctalkface", "lrw", {"lse_d": 7.0, "lse_c": 6.6})
    assert "(sha256 cccccccccccc, own audio, LSE fullframe224,bf16)" in render(build_leaderboard([run]), "markdown")


def test_json_and_ci_and_selection(runs: list[Path]) -> None:
    board = build_leaderboard(
        runs, metrics=["lse_c", "psnr"], protocols=["lrs2"], models=["wav2lip", "ground-truth"], show_ci=True
    )
    payload = json.loads(render(board, "json"))
    assert [c["key"] for c in payload["protocols"][0]["columns"]] == ["lse_c", "psnr"]
    assert [r["label"] for r in payload["rows"]] == ["wav2lip", "ground-truth"]
    assert payload["rows"][0]["values"]["lrs2"]["lse_c"] == {
        "value": 8.797,
        "text": "8.797",
        "ci95": [8.697, 8.897],
        "best": True,
    }
    assert payload["rows"][1]["values"]["lrs2"]["psnr"]["text"] == "∞"
    assert payload["rows"][1]["values"]["lrs2"]["psnr"]["value"] == "inf"
    assert "| wav2lip | **8.797 ± 0.100** | **31.274 ± 0.100** | 1240/1243 |" in render(board, "markdown")


def test_unverified_weights_and_bad_input_are_reported(tmp_path: Path, runs: list[Path]) -> None:
    summary = json.loads((runs[0] / "summary.json").read_text())
    summary["metric_settings"]["lse[fullframe224,syncnet_v2]"]["weights"]["syncnet"]["verified"] = False
    (runs[0] / "summary.json").write_text(json.dumps(summary))
    assert "WARNING: computed with unverified weights (syncnet_v2)" in render(build_leaderboard(runs), "markdown")
    with pytest.raises(StfbenchError, match="two runs of 'wav2lip'"):
        build_leaderboard([runs[2], runs[2]])
    with pytest.raises(StfbenchError, match=r"no summary\.json"):
        build_leaderboard([tmp_path])
    with pytest.raises(StfbenchError, match="--models"):
        build_leaderboard(runs, models=["nope"])


def test_relative_to_ground_truth_adds_gap_columns(runs: list[Path], stfbench_script) -> None:
    """ΔLSE-D / ΔLSE-C = |m − m_GT| next to each LSE column (↓, best among non-GT rows), the GT row named in
    a note; a protocol whose reference run is missing, or an unknown label, is a one-line error."""
    board = build_leaderboard(runs, protocols=["lrs2"], relative_to="ground-truth")
    keys = [c.key for c in board.groups[0].columns]
    assert keys == ["psnr", "ssim", "lse_d", "lse_d_gt_gap", "lse_c", "lse_c_gt_gap"]
    payload = json.loads(render(board, "json"))
    values = {row["label"]: row["values"]["lrs2"] for row in payload["rows"]}
    assert values["wav2lip"]["lse_c_gt_gap"]["text"] == "0.703"  # |8.797 − 9.5|
    assert values["synctalkface"]["lse_d_gt_gap"]["text"] == "1.352"  # |6.352 − 5.0|
    assert values["static"]["lse_c_gt_gap"]["text"] == "9.000"
    assert values["ground-truth"]["lse_c_gt_gap"]["text"] == "0.000"
    assert values["wav2lip"]["lse_c_gt_gap"]["best"] and not values["ground-truth"]["lse_c_gt_gap"]["best"]
    assert values["wav2lip"]["lse_d_gt_gap"]["best"]  # |5.995 − 5.0| beats synctalkface's 1.352
    markdown = render(board, "markdown")
    assert "LRS2 ΔLSE-C↓" in markdown and "difference from the run 'ground-truth'" in markdown
    assert "$\\Delta$LSE-C" in render(board, "latex")
    with pytest.raises(StfbenchError, match="its run on lrw has no LSE-D"):
        build_leaderboard(runs, relative_to="ground-truth")  # no ground-truth run on lrw
    with pytest.raises(StfbenchError, match="no run labelled 'truth'"):
        build_leaderboard(runs, relative_to="truth")
    lrs2 = [str(r) for r in runs if r.name.endswith("lrs2")]
    done = stfbench_script("leaderboard", *lrs2, "--relative-to", "ground-truth", "-f", "csv")
    assert done.returncode == 0 and "lrs2/lse_c_gt_gap" in done.stdout.splitlines()[0]
    done = stfbench_script("leaderboard", *lrs2, "--relative-to", "truth")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no run labelled 'truth'" in done.stderr


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX compiler installed")
def test_latex_compiles(tmp_path: Path, runs: list[Path]) -> None:
    negative = _write_run(tmp_path, "static", "lrw", {"lse_d": 11.0, "av_offset": -2.876}, control=True)
    table = render(build_leaderboard([*runs, negative], show_ci=True), "latex", width="linewidth")
    (tmp_path / "table.tex").write_text(table)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "table.pdf").stat().st_size > 1000


def test_diagnostic_counts_are_a_note_and_json_counts_not_columns(tmp_path: Path) -> None:
    run = _write_run(tmp_path, "wav2lip", "lrw", {"psnr": 30.0, "lmd": 2.0})
    summary = json.loads((run / "summary.json").read_text())
    text = "frames without a face in both videos (not in LMD)"
    summary["counts"] = {"lmd_frames_no_face": {"total": 1234, "clips": 3, "n": 10, "description": text}}
    (run / "summary.json").write_text(json.dumps(summary))
    clean = _write_run(tmp_path, "static", "lrw", {"psnr": 25.0, "lmd": 3.0}, control=True)
    board = build_leaderboard([run, clean])
    assert [c.key for c in board.groups[0].columns] == ["psnr", "lmd"]
    markdown = render(board, "markdown")
    assert "Frames without a face in both videos (not in LMD): wav2lip 1,234." in markdown
    assert "static 0" not in markdown and "lmd_frames_no_face" not in markdown
    counts = [r["counts"]["lrw"] for r in json.loads(render(board, "json"))["rows"]]
    plain = {"n_scored": 10, "n_expected": 10}
    assert counts == [{**plain, "lmd_frames_no_face": 1234}, plain]
    assert "LSE" not in markdown.split("Protocols:")[1].split(".")[0]  # no LSE column: the LSE variant is not named


def test_latex_minus_sign_ci_second_line_and_width(runs: list[Path], tmp_path: Path) -> None:
    from stfbench.leaderboard.render import estimate_width_pt, latex_width

    shifted = _write_run(tmp_path, "static", "lrw", {"lse_d": 11.0, "av_offset": -2.876}, control=True)
    text = render(build_leaderboard([shifted]), "latex", standalone=False)
    assert "$-$2.88" in text and "& -2" not in text  # a real minus sign, not a hyphen

    board = build_leaderboard(runs, show_ci=True)
    lines = render(board, "latex", standalone=False).splitlines()
    header = next(line for line in lines if line.startswith(" & PSNR"))
    row = lines.index(next(line for line in lines if line.startswith("wav2lip &")))
    assert r"\pm" not in lines[row] and lines[row + 1].startswith(r" & {\scriptsize $\pm$0.100} & ")
    assert lines[row + 1].count("&") == lines[row].count("&") == header.count("&")
    plain = build_leaderboard(runs)
    assert abs(estimate_width_pt(board) - estimate_width_pt(plain)) < 1.0  # CIs no longer widen the columns
    longer = build_leaderboard(runs, labels={"synctalkface": "synctalkface (96 slots, 800 steps)"})
    assert 60 < estimate_width_pt(longer) - estimate_width_pt(plain) < 120  # "(96 slots, 800 steps)" ≈ 90 pt

    fitted = render(board, "latex", standalone=False, width="columnwidth")
    assert fitted.startswith("% \\resizebox needs \\usepackage{graphicx}")
    assert "\\resizebox{\\columnwidth}{!}{%\n\\begin{tabular}" in fitted and "\\end{tabular}\n}\n\\caption" in fitted
    bare = fitted.replace("\\{", "").replace("\\}", "")
    assert bare.count("{") == bare.count("}")
    assert "\\usepackage{graphicx}" in render(board, "latex", width="linewidth")
    assert "graphicx" not in render(board, "latex") and "resizebox" not in render(board, "latex")
    assert latex_width("\\linewidth") == "\\linewidth" and latex_width("8.5cm") == "8.5cm"
    with pytest.raises(ValueError, match="--width 3 furlongs"):
        latex_width("3 furlongs")


def test_cli_fragment_width_hint_and_bad_width(stfbench_script, runs: list[Path]) -> None:
    args = ["leaderboard", *map(str, runs), "--format", "latex", "--fragment"]
    wide = stfbench_script(*args)
    assert wide.returncode == 0, wide.stderr
    assert "pt wide" in wide.stderr and "--width columnwidth" in wide.stderr and "resizebox" not in wide.stdout
    fitted = stfbench_script(*args, "--width", "columnwidth")
    assert fitted.returncode == 0 and fitted.stderr == "" and "\\resizebox{\\columnwidth}" in fitted.stdout
    for bad, message in ((["--width", "3furlongs"], "--width 3furlongs"), (["--format", "markdown"], "--width is for")):
        refused = stfbench_script(*args, "--width", "linewidth", *bad)
        assert refused.returncode == 2 and message in refused.stderr and len(refused.stderr.splitlines()) == 1

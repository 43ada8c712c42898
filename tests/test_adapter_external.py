"""External models: `outputs --dir` (pre-generated clips, missing ones counted) and `command --template`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_fakes import FRAME, FakeClips, fake_metrics_factory, fake_protocol

from stfbench.adapters.base import GenerationRequest
from stfbench.adapters.external import CommandAdapter, OutputsAdapter
from stfbench.errors import ModelError, TooShortError
from stfbench.media import write_clip
from stfbench.runner.config import RunConfig
from stfbench.runner.run import run_benchmark
from stfbench.runner.store import RunStore


def _request(frames: int = 6) -> GenerationRequest:
    crops = np.full((frames, 32, 32, 3), 100, np.uint8)
    boxes = np.tile(np.array([16.0, 8.0, 48.0, 40.0]), (frames, 1))
    return GenerationRequest(
        "spk0/clip00",
        crops,
        crops,
        np.zeros(frames * 640, np.float32),
        np.zeros((80, 20), np.float32),
        extras={"boxes": boxes, "frame_size": FRAME, "video_path": "/fake/v.mp4"},
    )


def test_outputs_adapter_counts_missing_clips(tmp_path: Path) -> None:
    clips = FakeClips()
    for clip_id in clips.ids[:4]:  # outputs for 4 of the 6 protocol clips, as lossless crops
        prepared = clips.load(clip_id)
        write_clip(tmp_path / "outputs" / f"{clip_id}.mkv", prepared.crops, None)
    config = RunConfig(model="outputs", dataset="fake", out_dir=tmp_path / "run", show_progress=False)
    adapter = OutputsAdapter(dir=tmp_path / "outputs")
    run_benchmark(config, adapter=adapter, metrics_factory=fake_metrics_factory, protocol=fake_protocol(), clips=clips)
    summary = RunStore(tmp_path / "run").read_summary()
    assert (summary["n_scored"], summary["n_expected"]) == (4, 6)
    assert summary["failures"] == {"missing-output": 2}
    assert summary["metrics"]["psnr"]["mean"] == float("inf")  # the outputs are the targets themselves
    missing = [r for r in RunStore(tmp_path / "run").read_records() if r["status"] != "ok"]
    assert sorted(r["clip_id"] for r in missing) == clips.ids[4:]
    assert all("no output for clip" in r["reason"] for r in missing)


def test_whole_frame_outputs_are_cropped_at_the_boxes(tmp_path: Path) -> None:
    request = _request()
    frames = np.zeros((6, *FRAME, 3), np.uint8)
    frames[:, 8:40, 16:48] = 200  # the box region
    write_clip(tmp_path / "spk0" / "clip00.mkv", frames, None)
    generated = OutputsAdapter(dir=tmp_path).generate(request)
    assert generated.frames.shape == (6, *FRAME, 3)
    assert generated.crops.shape == (6, 32, 32, 3) and int(generated.crops.min()) == 200


def test_outputs_length_and_size_rules(tmp_path: Path) -> None:
    write_clip(tmp_path / "spk0" / "clip00.mkv", np.zeros((5, 32, 32, 3), np.uint8), None)
    assert OutputsAdapter(dir=tmp_path).generate(_request(6)).crops.shape[0] == 6  # one frame short: padded
    with pytest.raises(TooShortError):
        OutputsAdapter(dir=tmp_path).generate(_request(9))
    write_clip(tmp_path / "spk0" / "clip00.mkv", np.zeros((6, 20, 20, 3), np.uint8), None)
    with pytest.raises(ModelError, match="neither"):
        OutputsAdapter(dir=tmp_path).generate(_request(6))


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "infer.py"
    path.write_text(body)
    return f"{sys.executable} {path} --face {{video}} --audio {{audio}} --outfile {{out}}"


def test_command_adapter_runs_the_template_per_clip(tmp_path: Path) -> None:
    body = """
import sys, numpy as np
from stfbench.media import write_clip, read_audio
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
audio = read_audio(args["--audio"])
assert args["--face"] == "/fake/v.mp4"
write_clip(args["--outfile"], np.full((len(audio) // 640, 32, 32, 3), 100, np.uint8), None)
"""
    generated = CommandAdapter(_script(tmp_path, body)).generate(_request(6))
    assert generated.crops.shape == (6, 32, 32, 3)
    assert np.abs(generated.crops.astype(int) - 100).max() <= 3  # H.264 round trip of the script's mp4


def test_command_adapter_failures_carry_stderr_and_timeouts(tmp_path: Path) -> None:
    failing = CommandAdapter(_script(tmp_path, "import sys\nsys.exit('CUDA error: no kernel image')"))
    with pytest.raises(ModelError, match="CUDA error: no kernel image"):
        failing.generate(_request())
    slow = CommandAdapter(_script(tmp_path, "import time\ntime.sleep(30)"), timeout=0.5)
    with pytest.raises(ModelError, match=r"timed out after 0\.5 s"):
        slow.generate(_request())
    with pytest.raises(ModelError, match="must contain"):
        CommandAdapter("python infer.py {video}")


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("python infer.py {vidoe} {out}", "{vidoe}"),
        ("python infer.py {0} {out}", "{0}"),
        ("python infer.py {} {out}", "{}"),
        ("python infer.py {video.name} {out}", "{video.name}"),
        ("python infer.py {video!r} {out}", "{video!r}"),
        ("python infer.py {video:>9} {out}", "{video:>9}"),
        ("sh -c 'infer {video!q} > {output!q}'", "{output!q}"),
    ],
)
def test_command_template_refuses_unknown_placeholders(template: str, shown: str) -> None:
    with pytest.raises(ModelError, match="unknown placeholder") as caught:
        CommandAdapter(template)
    assert shown in str(caught.value) and "{video}, {audio}, {out}" in str(caught.value)


def test_command_template_refuses_malformed_braces_and_quotes() -> None:
    with pytest.raises(ModelError, match="--template"):
        CommandAdapter("python infer.py {video {out}")
    with pytest.raises(ModelError, match="--template"):
        CommandAdapter("python infer.py '{video} {out}")


def test_shell_quoted_placeholders_survive_spaces_quotes_and_semicolons(tmp_path: Path) -> None:
    body = """
import sys, numpy as np
from stfbench.media import write_clip
assert sys.argv[1] == "/fake/it's; a v.mp4", sys.argv
write_clip(sys.argv[2], np.full((6, 32, 32, 3), 100, np.uint8), None)
"""
    script = tmp_path / "infer.py"
    script.write_text(body)
    request = _request(6)
    request.extras["video_path"] = "/fake/it's; a v.mp4"
    template = f"sh -c '{sys.executable} {script} {{video!q}} {{out!q}}'"
    assert CommandAdapter(template).generate(request).crops.shape == (6, 32, 32, 3)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_timeout_kills_the_commands_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    script = tmp_path / "infer.sh"
    script.write_text(f"sleep 30 &\necho $! > {pid_file}\nsleep 30 &\necho $! >> {pid_file}\nwait\n")
    adapter = CommandAdapter(f"sh -c 'sh {script}; : {{out!q}}'", timeout=1.0)
    with pytest.raises(ModelError, match="timed out"):
        adapter.generate(_request())
    pids = [int(line) for line in pid_file.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]

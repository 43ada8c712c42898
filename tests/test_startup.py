"""Start-up: the commands people run first import no torch, librosa or the media stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "librosa", "cv2", "scipy", "skimage", "pandas", "matplotlib", "av", "face_alignment", "dlib")
PROBE = """
import sys
from stfbench.cli import main
sys.argv = ["stfbench", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["protocols", "list"], ["weights", "list"], ["info"],
                                  ["run", "--help"], ["protocols", "show", "lrs2"]])  # fmt: skip
def test_light_commands_import_no_heavy_library(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True, timeout=60
    )
    line = next(line for line in result.stderr.splitlines() if line.startswith("HEAVY="))
    assert line == "HEAVY=", (args, line, result.stderr)


def test_lse_scoring_imports_neither_scipy_signal_nor_librosa() -> None:
    """`score --metrics lse` on one clip builds the LSE metric, its MFCC input and the summary: none needs
    scipy.signal or scipy.stats (1–2 s each to import) or librosa (the mel spectrogram's)."""
    probe = (
        "import sys\n"
        "import numpy as np\n"
        "from stfbench.audio import syncnet_mfcc\n"
        "from stfbench.metrics import build_metrics\n"
        "from stfbench.protocols import load_protocol\n"
        "build_metrics('lse', load_protocol('synthetic').metrics)\n"
        "syncnet_mfcc(np.zeros(16000, np.float32))\n"
        "from stfbench.runner.summary import summarize\n"
        "summarize([{'index': 0, 'status': 'ok', 'metrics': {'lse_c': 1.0}}], {}, 1, 0)\n"
        "print('LOADED=' + ','.join(m for m in ('scipy.signal', 'scipy.stats', 'librosa') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED=\n" in result.stdout, result.stdout

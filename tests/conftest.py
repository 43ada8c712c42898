"""Test-wide settings: one torch thread (`STFBENCH_TEST_THREADS=2` checks the suite with two), a private cache, Agg
plots; fixtures live in tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(int(os.environ.get("STFBENCH_TEST_THREADS", "1")))

pytest_plugins = sorted(
    f"fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep every test's cache and weights out of the user's home."""
    root = tmp_path_factory.mktemp("stfbench-cache")
    os.environ["STFBENCH_CACHE"] = str(root)
    os.environ.pop("STFBENCH_WEIGHTS", None)


@pytest.fixture(scope="session")
def shared_protocol_data() -> Path:
    """`../shared/protocol-data` (BBC-licensed lists, for tests only); tests needing it skip without it."""
    path = SHARED / "protocol-data"
    if not path.exists():
        pytest.skip("../shared/protocol-data is not present")
    return path

"""The distribution maps the top-level folders under the `stfbench` namespace and lists every package."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER_TO_PACKAGE = {
    "stfbench": "stfbench",
    "metrics": "stfbench.metrics",
    "reference_model": "stfbench.reference_model",
    "protocols": "stfbench.protocols",
}


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_declared() -> None:
    found = set()
    for folder, package in FOLDER_TO_PACKAGE.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found == _declared_packages()


def test_namespaced_imports_and_no_bare_metrics() -> None:
    for package in FOLDER_TO_PACKAGE.values():
        importlib.import_module(package)
    # A bare top-level `metrics` must not be importable from outside the source tree.
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('metrics') is not None)"],
        cwd="/",
        capture_output=True,
    )
    assert probe.returncode == 0


def test_cli_version() -> None:
    result = subprocess.run([sys.executable, "-m", "stfbench", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("stfbench ")

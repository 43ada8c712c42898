"""The command line as a whole: help text of every option, flag help lines, `--format json` of the listings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from stfbench.cli import app
from stfbench.protocols import list_protocols, load_protocol
from stfbench.weights import entries

LISTINGS = [["weights", "list"], ["protocols", "list"], ["models"], ["info"]]


def _commands(command, path: tuple[str, ...] = ("stfbench",)) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_help() -> None:
    missing, seen = [], 0
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            seen += 1
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{' '.join(path)} {param.opts or param.name}")
    assert seen > 100 and not missing, missing


@pytest.mark.parametrize("args", [[], ["run"], ["weights", "list"], ["train"], ["protocols", "show"]])
def test_flags_show_no_value_type_in_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output and "<bool>" not in result.output
    assert not re.search(r"--help\s+<", result.output)
    if args == ["run"]:
        assert re.search(r"--resume\s+Continue", result.output) and re.search(r"--seed\s+<int>", result.output)


def _json(args: list[str]) -> dict:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_listings_as_json() -> None:
    weights = _json(["weights", "list"])["weights"]
    assert [w["id"] for w in weights] == list(entries())
    committed = next(w for w in weights if w["id"] == "synctalkface_tiny_synthetic")
    assert committed["status"] == "ok" and committed["sha256"] == entries()[committed["id"]].sha256
    assert committed["path"].endswith("synctalkface_tiny_synthetic.pt") and committed["source"]
    protocols = {p["id"]: p for p in _json(["protocols", "list"])["protocols"]}
    assert set(protocols) == {load_protocol(n).id for n in list_protocols()}
    assert protocols["lrs2"]["clips"] == 1243 and protocols["synthetic"]["clips"] == 40
    assert protocols["lrw"]["hash"] == load_protocol("lrw").hash and "lse" in protocols["lrw"]["metrics"]
    models = {m["name"]: m for m in _json(["models"])["models"]}
    assert models["synctalkface"]["class"].endswith(":SyncTalkFaceAdapter") and "static" in models
    info = _json(["info"])
    assert info["device"] in ("cpu", "cuda") and set(info["dataset_roots"]) == {"lrs2", "lrw"}
    assert [w["id"] for w in info["weights"]] == list(entries())


def test_weights_table_shows_short_sha256_and_source() -> None:
    result = CliRunner().invoke(app, ["weights", "list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    item = entries()["synctalkface_tiny_synthetic"]
    row = next(line for line in result.output.splitlines() if line.startswith("│ synctalkface_tiny_synthetic "))
    assert item.sha256[:12] in row and item.sha256[:13] not in row and item.source[:40] in row


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_console_script_prints_strict_json(stfbench_script, args: list[str]) -> None:
    result = stfbench_script(*args, "--format", "json")
    assert result.returncode == 0, result.stderr

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    data = json.loads(result.stdout, parse_constant=refuse)
    assert isinstance(data, dict) and data


@pytest.mark.parametrize("given", [None, "77"])
def test_console_script_shortens_openmp_spin_unless_the_user_set_it(stfbench_script, monkeypatch, given) -> None:
    from stfbench.cli import OPENMP_SPIN_COUNT

    if given is None:
        monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    else:
        monkeypatch.setenv("GOMP_SPINCOUNT", given)
    shown = stfbench_script("info", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["gomp_spincount"] == (given or OPENMP_SPIN_COUNT)

"""One name per concept: an option that several commands share has the same name, short form, alias, type,
default and help in each (stfbench.cli.options defines them once)."""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stfbench.cli import app, options

#: Options that mean the same thing wherever they appear: compared field by field between commands.
SHARED = {
    "--dataset", "--root", "--list-file", "--device", "--no-progress", "--workers", "--limit-clips", "--seed",
    "--trust-unverified", "--metrics", "--checkpoint", "--resume", "--overwrite", "--strict", "--resample",
    "--format", "--lse-precision", "--gt-cache", "--per-frame",
}  # fmt: skip
#: Names that several commands use with a command-specific meaning, type or default (not compared), and why.
PER_COMMAND = {
    "--out": "a file for some commands, a folder for others (its -o is checked by SHORT_FORMS)",
    "--model": "a model to run, to check or to train, each with its own default (-m is checked by SHORT_FORMS)",
    "--audio": "generate: one driving audio file; score: an audio folder or file per clip",
    "--batch-size": "generate: frames per forward pass; training commands: samples per step, per schedule",
    "--steps": "each training schedule has its own default",
    "--expert": "ablate defaults to the dataset's registered expert; train has no default",
    "--preset": "the presets of train and of ablate's schedule are described differently",
    "--slots": "ablate: a list of slot counts; train: one",
    "--width": "leaderboard: LaTeX table width; train-expert: SyncNet channel multiplier",
}
#: (command, shared option) → (fields that differ on purpose, why). Kept tiny.
EXCEPTIONS = {
    ("score", "--dataset"): ({"default"}, "score uses no protocol's metric settings unless given one"),
    ("score", "--metrics"): ({"default", "help"}, "without a protocol, score's default is a fixed metric list"),
    ("leaderboard", "--metrics"): ({"all"}, "the table's columns in order, not metrics to compute"),
    ("leaderboard", "--format"): ({"all"}, "the table's file format (latex, markdown, csv, json), not a listing's"),
    ("audit", "--format"): ({"all"}, "the table printed (markdown, latex, csv, json), not a listing's"),
}
#: Every command with the long name also has these names.
SHORT_FORMS = {"--dataset": {"-d", "--protocol"}, "--out": {"-o"}, "--model": {"-m"}}
#: The commands that show progress bars: each takes --no-progress.
PROGRESS_COMMANDS = {
    "run", "score", "audit", "prepare", "ablate", "train", "train-expert", "synth", "memory", "datasets check",
}  # fmt: skip
FIELDS = ("opts", "type", "default", "required", "is_flag", "help")


def _commands() -> dict[str, Any]:
    """Every leaf command of the app by its full name (`datasets check`)."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(path), command
            return
        for name, sub in subcommands.items():
            yield from walk(sub, [*path, name])

    return dict(walk(typer.main.get_command(app), []))


def _options() -> dict[str, dict[str, dict[str, Any]]]:
    """long option name → command → its fields."""
    found: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
    for name, command in _commands().items():
        for param in command.params:
            if param.param_type_name != "option" or not param.opts[0].startswith("--"):
                continue
            found[param.opts[0]][name] = {
                "opts": sorted([*param.opts, *param.secondary_opts]),
                "type": param.bare_type(),
                "default": param.default,
                "required": param.required,
                "is_flag": param.is_flag,
                "help": param.help,
            }
    return found


def _differences(found: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """`option field: command=value vs command=value` for every shared option that differs between commands."""
    problems = []
    for option in sorted(SHARED):
        by_command = found.get(option, {})
        for field in FIELDS:
            values = {
                command: fields[field]
                for command, fields in by_command.items()
                if not EXCEPTIONS.get((command, option), (set(),))[0] & {field, "all"}
            }
            if len({repr(v) for v in values.values()}) > 1:
                problems.append(f"{option} {field}: " + "; ".join(f"{c}={v!r}" for c, v in sorted(values.items())))
    return problems


def test_shared_options_are_the_same_in_every_command() -> None:
    found = _options()
    assert all(len(found[option]) >= 2 for option in SHARED), [o for o in SHARED if len(found[o]) < 2]
    assert _differences(found) == []


def test_the_comparison_finds_a_difference() -> None:
    """A changed default, help, alias or type in one command is reported (the test above can fail)."""
    for field, value in (("default", 2), ("help", "other"), ("opts", ["--workers", "-w"]), ("type", "str")):
        found = _options()
        found["--workers"]["synth"][field] = value
        (problem,) = _differences(found)
        assert problem.startswith(f"--workers {field}: ") and f"synth={value!r}" in problem


def test_every_option_of_several_commands_is_shared_or_named_per_command() -> None:
    found = _options()
    several = {option for option, commands in found.items() if len(commands) >= 2}
    assert several - SHARED - set(PER_COMMAND) == set()
    assert set(PER_COMMAND) <= several  # no stale entry
    for command, option in EXCEPTIONS:
        assert command in found[option], (command, option)


def test_short_forms_and_aliases_are_on_every_command() -> None:
    found = _options()
    for option, names in SHORT_FORMS.items():
        missing = {command: names - set(fields["opts"]) for command, fields in found[option].items()}
        assert {c: m for c, m in missing.items() if m} == {}, option


def test_progress_commands_take_no_progress() -> None:
    assert set(_options()["--no-progress"]) == PROGRESS_COMMANDS


def test_device_help_is_one_text() -> None:
    assert {fields["help"] for fields in _options()["--device"].values()} == {options.DEVICE_HELP}


def test_protocol_help_names_every_shipped_protocol() -> None:
    from stfbench.protocols import list_protocols

    help_text = options.PROTOCOL_HELP
    assert [name for name in list_protocols() if name not in help_text] == []


def test_option_values_reads_every_spelling() -> None:
    names = ["--dataset", "-d", "--protocol"]
    args = ["--dataset=a", "-db", "-d", "c", "--protocol", "d", "--debug", "--", "-d", "e"]
    assert options.option_values(args, names) == ["a", "b", "c", "d"]


@pytest.fixture()
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, bool]]:
    """`datasets check` with a stand-in check: (protocol id, progress argument, whether a new Progress is silenced)."""
    from stfbench import datasets
    from stfbench.console import Progress

    seen: list[tuple[str, bool, bool]] = []

    def fake_check(protocol: Any, root: Any, **kwargs: Any) -> None:
        seen.append((protocol.id, kwargs["progress"], Progress().silenced))
        raise typer.Exit(0)

    monkeypatch.setattr(datasets, "check_dataset", fake_check)
    return seen


def test_protocol_given_twice(checked: list[tuple[str, bool, bool]]) -> None:
    """The old `--dataset LAYOUT --protocol ID` form, in either order, means the protocol; two protocols are refused."""
    runner = CliRunner()
    for args in (["--dataset", "lrs2", "--protocol", "lrs2-wav2lip"], ["--protocol", "lrs2-wav2lip", "-d", "lrs2"]):
        result = runner.invoke(app, ["datasets", "check", *args])
        assert result.exit_code == 0, result.output
        assert checked[-1][0] == "lrs2-wav2lip"
    for args, message in (
        (["--dataset", "lrw", "--protocol", "lrs2-wav2lip"], "protocol lrs2-wav2lip is for dataset lrs2, not lrw"),
        (["-d", "lrs2", "--protocol", "lrw"], "give one protocol, not lrs2 and lrw"),
    ):
        result = runner.invoke(app, ["datasets", "check", *args])
        assert result.exit_code == 2 and message in result.output, result.output
    assert len(checked) == 2


def test_no_progress_silences_bars_while_the_command_runs(checked: list[tuple[str, bool, bool]]) -> None:
    from stfbench.console import Progress

    runner = CliRunner()
    assert runner.invoke(app, ["datasets", "check", "--no-progress"]).exit_code == 0
    assert runner.invoke(app, ["datasets", "check"]).exit_code == 0
    assert checked == [("synthetic", False, True), ("synthetic", True, False)]
    assert Progress().silenced is False  # restored after the command


def test_run_prepare_stage_follows_workers_and_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    from stfbench import datasets
    from stfbench.protocols import load_protocol
    from stfbench.runner.ablation import AblationConfig, slot_settings, train_command
    from stfbench.runner.clips import ProtocolClips

    seen: dict[str, Any] = {}
    monkeypatch.setattr(datasets, "prepare_protocol", lambda protocol, root, **kwargs: seen.update(kwargs))
    ProtocolClips(load_protocol("synthetic"), workers=3, show_progress=False).prepare([])
    assert seen["workers"] == 3 and seen["progress"] is False
    config = AblationConfig(out_dir=Path("x"), settings=slot_settings("0"), show_progress=False)
    assert "--no-progress" in train_command(config, config.settings[0], Path("x/train"))


def test_help_of_the_installed_script_lists_the_primary_names(stfbench_script) -> None:
    for command in ("generate", "score"):
        result = stfbench_script(command, "--help")
        assert result.returncode == 0, result.stderr
        assert ("--dataset" in result.stdout and "-d" in result.stdout.split()) or "-d," in result.stdout


def test_the_protocol_alias_still_works(stfbench_script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STFBENCH_LRS2_ROOT", raising=False)
    result = stfbench_script("doctor", "--protocol", "lrs2", "--format", "json")
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)[0]["item"] == "lrs2 dataset root"

"""Every number the command line takes has a range, in one table (latentlab/bounds.py) that parsing,
--help and config validation read: an absurd value is one line naming the option, exit 2, before
anything is loaded, allocated or written."""

import argparse
import dataclasses

import pytest

from latentlab import bounds
from latentlab.cli import build_parser, main
from latentlab.config import SECTIONS, Config

# Negative, zero, far too big (as a float and as a whole number), not a number, infinite, beyond 64
# bits, and not a number at all.
ABSURD = ["-1", "0", "1e12", "1000000000000", "1e21", "nan", "inf", "123456789012345678901234567890", "ten"]
# Options where 0 means something (a seed, a step, no hold): each is said here so that a range
# widened to take 0 by mistake fails this test.
ZERO_TAKEN = {("train", "--seed"), ("sample", "--seed"), ("walk", "--seed"), ("walk", "--seeds"),
              ("timelapse", "--from"), ("timelapse", "--to"), ("timelapse", "--hold-last"), ("metrics", "--seed"),
              ("project", "--seed")}
# Options where any sign is meaningful: amounts along a named direction (-3 to +3 is the usual walk).
SIGNED = {("walk", "--from"), ("walk", "--to")}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def table_rows():
    return [(command, flag) for command, rows in bounds.OPTIONS.items() for flag in rows]


def one_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert captured.out == ""
    return lines[0]


def test_every_numeric_option_of_every_command_has_a_row():
    for command, parser in subcommands().items():
        for action in parser._actions:
            if action.type is not None:  # argparse converts it: a number (choices and text have none)
                flag = action.option_strings[-1] if action.option_strings else action.dest
                assert isinstance(action.type, (bounds.Bound, bounds.Numbers)), \
                    f"{command} {flag}: a number without a row in latentlab/bounds.py OPTIONS"


def test_every_numeric_config_key_has_a_row():
    cfg = Config()
    for section in SECTIONS:
        for field in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), field.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert f"{section}.{field.name}" in bounds.CONFIG, f"{section}.{field.name}: no row in CONFIG"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command, flag", table_rows())
def test_absurd_values_are_one_line_naming_the_option(command, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything written would land here
    for value in ABSURD:
        if (value == "0" and (command, flag) in ZERO_TAKEN) or (value in ("-1", "0") and (command, flag) in SIGNED):
            assert main([command, f"{flag}=0", "--help"]) == 0  # parses; --help stops before any work
            capsys.readouterr()
            continue
        assert main([command, "missing.safetensors", f"{flag}={value}"]) == 2, (command, flag, value)
        line = one_line(capsys)
        assert line.startswith("latentlab: error: ") and flag in line and repr(value) in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command, flag", table_rows())
def test_help_shows_each_range(command, flag, capsys):
    assert main([command, "--help"]) == 0
    options = capsys.readouterr().out.split("\noptions:\n", 1)[1]
    entry = " ".join(options.split(f"\n  {flag} ", 1)[1].split("\n  -", 1)[0].split())  # its own paragraph
    assert f"({bounds.OPTIONS[command][flag].describe()})" in entry, (command, flag, entry)


@pytest.mark.parametrize("key", sorted(bounds.CONFIG))
def test_absurd_config_values_are_one_line_naming_the_key(key, tmp_path, capsys):
    out = tmp_path / "run"
    bound = bounds.CONFIG[key]
    for value in ABSURD:
        if value == "0" and bound.contains(0):
            continue  # 0 is a setting here ("off", or "use epochs")
        assert main(["train", "--preset", "tiny", "--set", f"{key}={value}", "--out", str(out)]) == 2, (key, value)
        assert key in one_line(capsys)
    assert not out.exists()


def test_in_range_values_pass_and_the_ends_are_kept():
    grid = bounds.OPTIONS["walk"]["--grid"]
    assert grid.parse("8x8") == [8, 8] and grid("2x3") == "2x3"
    with pytest.raises(argparse.ArgumentTypeError, match="at most 64"):
        grid("9x8")
    n = bounds.OPTIONS["sample"]["--n"]
    assert n("1024") == 1024 and n(" 1 ") == 1
    with pytest.raises(argparse.ArgumentTypeError):
        n("1025")
    psi = bounds.OPTIONS["sample"]["--truncation"]
    assert psi("1") == 1.0 and psi("1e-3") == 0.001
    assert bounds.OPTIONS["export"]["--batch"]("DYNAMIC") == "dynamic"
    assert bounds.CONFIG["train.ema"].contains(0.0) and not bounds.CONFIG["train.ema"].contains(1.0)

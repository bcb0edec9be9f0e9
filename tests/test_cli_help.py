"""`latentlab --version` and every command's --help: each option explained, defaults shown, examples given."""

import argparse
import io
import re

import pytest

from latentlab import package_version
from latentlab.cli import build_parser, main
from latentlab.cli.progress import ProgressLine


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_version_is_the_one_in_pyproject(capsys):
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert package_version() == pyproject["project"]["version"]
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"latentlab {pyproject['project']['version']}"
    assert main(["--version"]) == 0


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_has_help_and_the_command_has_examples(name, capsys):
    parser = subcommands()[name]
    for action in parser._actions:
        assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest}: no help"
    assert main([name, "--help"]) == 0
    text = capsys.readouterr().out
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert 1 <= len(examples) <= 2 and all(f"latentlab {name}" in line for line in examples), text
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
            flag = action.option_strings[-1]
            # argparse may wrap the help; the default sits in the option's own paragraph.
            options = text.split("\noptions:\n", 1)[1]
            entry = options.split(f"  {flag}", 1)[1].split("\n  -", 1)[0]
            assert re.search(rf"\(default:\s+{re.escape(str(action.default))}\)", entry), (name, flag)


def test_walk_shows_its_defaults(capsys):
    assert main(["walk", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "frames per segment" in text and "(1 to 100000) (default: 30)" in text and "(default: slerp)" in text


def test_progress_line_in_a_log_writes_the_final_count_once():
    log = io.StringIO()  # not a terminal: one line per update, none redrawn
    bar = ProgressLine(stream=log, log_every=3600)
    for done in range(1, 11):
        bar.frames(done, 10)
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("frame 1/10") and lines[-1].startswith("frame 10/10 [####################]")
    assert len(lines) == 2  # the first, then nothing until the last

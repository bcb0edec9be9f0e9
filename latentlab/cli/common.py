"""What every command family of the `latentlab` command shares: the argument parser and its help
format, the --device option, and output files refused before any work starts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from latentlab.config import UserError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: one line, exit 2
        self.exit(2, f"latentlab: error: {message} (see `{self.prog} --help`)\n")

    def _print_message(self, message, file=None):
        # argparse drops a failed write silently; --help and --version into a full disk or a closed
        # pipe fail like any other output (exit 2 or 141).
        if message and (file is None or file is sys.stderr):
            super()._print_message(message, file)
        elif message:
            file.write(message)
            file.flush()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default after its help (none for flags or options without one), and keeps
    the examples in the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        no_default = default is None or default is False or default == [] or default is argparse.SUPPRESS
        if "%(default)" in text or no_default or not action.option_strings or "(default" in text:
            return text
        return f"{text} (default: %(default)s)"


def examples_epilog(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_command(sub, name: str, help: str, *examples: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog=examples_epilog(*examples), formatter_class=HelpFormatter)


def add_device_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu",
                        help=f"{what}; auto: CUDA, then MPS, then the CPU (default: cpu)")


def chosen_device(name: str):
    """The torch device for --device (a user's error when it is not on this machine)."""
    from latentlab.train.engine import resolve_device

    return resolve_device(name)


def check_out_folder(flag: str, path: Path) -> None:
    """Refuse an output whose folder is missing or read-only before any work is done: a temporary
    file is made there and removed (permission bits do not tell, for root or in /proc), so a command
    with several outputs writes none when one of them cannot be written."""
    from latentlab.atomic import AtomicFile

    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise UserError(f"{flag} {path}: the folder does not exist or is not writable")
    if path.is_dir():
        raise UserError(f"{flag} {path}: a folder; name a file")
    try:
        AtomicFile(path).discard()
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None


def checked_output(flag: str, value: str | os.PathLike, suffix: str, wrong_suffix: str) -> Path:
    """The output file `value` of option `flag`, refused before any work unless it ends in `suffix`
    (`wrong_suffix` says why) and its folder exists and is writable."""
    path = Path(value)
    if path.suffix.lower() != suffix:
        raise UserError(f"{flag} {path}: {wrong_suffix}")
    check_out_folder(flag, path)
    return path

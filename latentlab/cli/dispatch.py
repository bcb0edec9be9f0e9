"""The `latentlab` command: the parser of every command, and dispatch to the command families
(train, media, photo, edit, runs).

User mistakes (latentlab.config.UserError) and environment failures (a full disk, an unwritable
path: OSError) print one line and exit 2; a reader that goes away (`latentlab presets | head`) ends
the command quietly with 141 (128 + SIGPIPE, as a shell reports a command killed by SIGPIPE).
Nothing here imports Qt; the app is imported lazily for `latentlab` / `latentlab gui`.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from latentlab import bounds
from latentlab.cli import edit, media, photo, runs, train
from latentlab.cli.common import (
    HelpFormatter,
    Parser,
    add_command,
    checked_output,
    examples_epilog,
)
from latentlab.cli.streams import BackgroundErrors, NamedStdout, describe_os_error, reopen_closed_streams, say_error
from latentlab.config import UserError
from latentlab.progress import silence


def build_parser() -> argparse.ArgumentParser:
    from latentlab import package_version

    p = Parser(prog="latentlab", description="Train face GANs and VAE/GANs and explore their latent space. "
                "Without a command: the app, on the bundled demo model.", formatter_class=HelpFormatter,
                epilog=examples_epilog("latentlab train --preset tiny --out runs/tiny",
                                 "latentlab COMMAND --help"))
    p.add_argument("--version", action="version", version=f"latentlab {package_version()}")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    g = add_command(sub, "gui", "open the app (optionally on a run directory or a checkpoint)",
                    "latentlab gui runs/tiny            attach to a run (also while the CLI trains it)",
                    "latentlab gui model.safetensors    explore a checkpoint")
    g.add_argument("path", nargs="?", help="a run directory to attach to, or a checkpoint to explore")
    g.add_argument("--screenshot", metavar="FILE.png", help="render the window to a PNG and exit")

    train.add_train_parser(sub)
    media.add_sample_parser(sub)
    runs.add_presets_parser(sub)
    media.add_walk_parser(sub)
    runs.add_import_dcgan_parser(sub)
    photo.add_encode_parser(sub)
    edit.add_attributes_parser(sub)
    media.add_timelapse_parser(sub)
    runs.add_tensorboard_parser(sub)
    photo.add_parsers(sub)  # align, project
    edit.add_parsers(sub)  # edit

    runs.add_metrics_parser(sub)
    runs.add_export_parser(sub)
    for name, command in sub.choices.items():
        bounds.apply(command, name)
    return p


def main(argv: list[str] | None = None) -> int:
    reopen_closed_streams()
    hooks = BackgroundErrors()
    stdout = sys.stdout
    sys.stdout = NamedStdout(stdout)
    try:
        status = hooks.status(_main(argv, hooks))
    finally:
        sys.stdout = stdout
    hooks.decided = True  # from here on a background thread's failure changes nothing: stay quiet
    return status


def _main(argv: list[str] | None, hooks: BackgroundErrors) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, or a usage error already printed as one line
            return int(exc.code or 0)
        command = args.command or "gui"
        # The window's workers report their own errors on screen; one that escapes is a bug whose
        # traceback helps, while the window is open.
        hooks.show_while_running = command == "gui"
        try:
            status = cmd_gui(args) if command == "gui" else COMMANDS[command](args)
            sys.stdout.flush()  # here, where a closed pipe can still be handled, not at exit
            return status
        except UserError as exc:
            say_error(str(exc))
            return 2
        except KeyboardInterrupt:
            say_error("interrupted", prefix="latentlab: ")
            return 130
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            # The reader of stdout went away: stop quietly. Python would otherwise report the failed
            # flush of the rest of the output at exit.
            silence(sys.stdout)
            return 141
        say_error(describe_os_error(exc))
        silence(sys.stdout)  # what is left in its buffer has nowhere to go; do not try again at exit
        return 2


def cmd_gui(args) -> int:
    if getattr(args, "screenshot", None):  # refused before a window opens
        checked_output("--screenshot", args.screenshot, ".png", "the screenshot is written as PNG; name a .png file")
        if args.path and Path(args.path).is_file() and args.path.lower().endswith(".safetensors"):
            from latentlab.run.checkpoint import load_model

            load_model(args.path)  # a damaged checkpoint fails here with its reason, and no shot is taken
    from latentlab.gui.app import run_app

    return run_app(getattr(args, "path", None), getattr(args, "screenshot", None))


COMMANDS = {
    "metrics": runs.cmd_metrics,
    "train": train.cmd_train,
    "sample": media.cmd_sample,
    "presets": runs.cmd_presets,
    "import-dcgan": runs.cmd_import_dcgan,
    "walk": media.cmd_walk,
    "encode": photo.cmd_encode,
    "attributes": edit.cmd_attributes,
    "timelapse": media.cmd_timelapse,
    "tensorboard": runs.cmd_tensorboard,
    "align": photo.cmd_align,
    "project": photo.cmd_project,
    "export": runs.cmd_export,
    "edit": edit.cmd_edit,
}

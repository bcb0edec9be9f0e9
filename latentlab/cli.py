"""The `latentlab` command: argument parsing and dispatch only.

User mistakes (latentlab.config.UserError) and environment failures (a full disk, an unwritable
path: OSError) print one line and exit 2; a reader that goes away (`latentlab presets | head`) ends
the command quietly with 141 (128 + SIGPIPE, as a shell reports a command killed by SIGPIPE).
Nothing here imports Qt; the app is imported lazily for `latentlab` / `latentlab gui`.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
from pathlib import Path

from latentlab import bounds
from latentlab.cli_progress import ProgressLine, silence
from latentlab.cli_streams import BackgroundErrors, NamedStdout, describe_os_error, reopen_closed_streams, say_error
from latentlab.config import UserError
from latentlab.latent.choices import (
    EASING_NAMES,
    INTERPOLATION_NAMES,
    TIMELAPSE_CRF,
    TIMELAPSE_PRESET,
    UPSCALE_NAMES,
    X264_PRESETS,
)
from latentlab.run.layout import RunLayout


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default after its help (none for flags or options without one), and keeps
    the examples in the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        no_default = default is None or default is False or default == [] or default is argparse.SUPPRESS
        if "%(default)" in text or no_default or not action.option_strings or "(default" in text:
            return text
        return f"{text} (default: %(default)s)"


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _command(sub, name: str, help: str, *examples: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog=_examples(*examples), formatter_class=_HelpFormatter)


def add_device_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="cpu",
                        help=f"{what}; auto: CUDA, then MPS, then the CPU (default: cpu)")


def chosen_device(name: str):
    """The torch device for --device (a user's error when it is not on this machine)."""
    from latentlab.train.engine import resolve_device

    return resolve_device(name)


def build_parser() -> argparse.ArgumentParser:
    from latentlab import package_version

    p = _Parser(prog="latentlab", description="Train face GANs and VAE/GANs and explore their latent space. "
                "Without a command: the app, on the bundled demo model.", formatter_class=_HelpFormatter,
                epilog=_examples("latentlab train --preset tiny --out runs/tiny",
                                 "latentlab COMMAND --help"))
    p.add_argument("--version", action="version", version=f"latentlab {package_version()}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    g = _command(sub, "gui", "open the app (optionally on a run directory or a checkpoint)",
                 "latentlab gui runs/tiny            attach to a run (also while the CLI trains it)",
                 "latentlab gui model.safetensors    explore a checkpoint")
    g.add_argument("path", nargs="?", help="a run directory to attach to, or a checkpoint to explore")
    g.add_argument("--screenshot", metavar="FILE.png", help="render the window to a PNG and exit")

    t = _command(sub, "train", "train a model headless (also under torchrun)",
                 "latentlab train --preset tiny --out runs/tiny --steps 2000",
                 "torchrun --nproc-per-node 4 -m latentlab train --preset dcgan --data celeba:~/celeba --out runs/d")
    t.add_argument("--preset", help="a preset name (see `latentlab presets`)")
    t.add_argument("--config", help="a config.toml (e.g. RUN/config.toml) to rerun")
    t.add_argument("--data", help="synthetic | synthetic-photo | FOLDER | FILE.zip | celeba:PATH | lfw:PATH "
                   "(default: the preset's; synthetic-photo: the same faces as photographs)")
    t.add_argument("--out", help="the run directory (default: runs/PRESET-TIMESTAMP)")
    t.add_argument("--steps", type=_positive_int, help="total steps of the run (default: the preset's)")
    t.add_argument("--epochs", type=_positive_int, help="total epochs (when --steps is not given)")
    t.add_argument("--batch", type=_positive_int, help="images per step, over all ranks (default: the preset's)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to train; auto: CUDA, then MPS, then the CPU (default: the preset's)")
    t.add_argument("--seed", type=int, help="seed of the weights, the data order and the noise (default: the preset's)")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its latest checkpoint (--set still changes a setting)")
    again.add_argument("--force-new", action="store_true",
                       help="start a fresh run in --out, moving an existing run there to OUT.old-TIME first")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config key")
    t.add_argument("--quiet", action="store_true", help="no progress line")

    s = _command(sub, "sample", "write a grid of samples from a checkpoint",
                 "latentlab sample runs/tiny/checkpoints/latest.safetensors --out grid.png",
                 "latentlab sample model.safetensors --out safe.png --n 16 --seed 3 --truncation 0.7")
    s.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    s.add_argument("--out", required=True, help="the PNG to write")
    s.add_argument("--n", type=_positive_int, default=64, help="how many samples")
    s.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    s.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="lower = safer faces, less variety")

    _command(sub, "presets", "list the presets", "latentlab presets")

    w = _command(sub, "walk", "record a latent-walk video (MP4, WebM, GIF or a folder of PNGs)",
                 "latentlab walk model.safetensors --out walk.mp4 --keyframes 6 --loop",
                 "latentlab walk model.safetensors --out smile.gif --direction smile --from -3 --to 3 --seeds 7")
    w.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    w.add_argument("--out", required=True, help="walk.mp4 | walk.webm | walk.gif | FOLDER/ (PNG sequence)")
    keys = w.add_mutually_exclusive_group()
    keys.add_argument("--keyframes", type=_positive_int, default=4, help="N random keyframes")
    keys.add_argument("--seeds", help="keyframes from seeds, e.g. 1,2,3 (the app's seeds give the same faces)")
    keys.add_argument("--latents", metavar="FILE", help="keyframes from a bookmarks file exported by the app")
    w.add_argument("--frames", type=_positive_int, default=30, help="frames per segment; at most "
                   f"{bounds.MAX_WALK_FRAMES} in the whole walk")
    w.add_argument("--fps", type=float, default=30.0, help="frames per second of the video")
    w.add_argument("--interp", choices=INTERPOLATION_NAMES, default="slerp", help="path between keyframes")
    w.add_argument("--ease", choices=EASING_NAMES, default="linear", help="pace along each segment")
    w.add_argument("--loop", action="store_true", help="end where it started, for a seamless loop")
    w.add_argument("--size", type=_positive_int, help="output px per face (default: the model's size)")
    w.add_argument("--upscale", choices=UPSCALE_NAMES, default="nearest", help="filter when --size enlarges")
    w.add_argument("--grid", default="1x1", metavar="RxC", help="tile R x C independent walks in one frame")
    w.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="lower = safer faces, less variety")
    w.add_argument("--seed", type=int, default=0, help="seed of the random keyframes")
    add_device_option(w, "where to render")
    w.add_argument("--direction", metavar="NAME", help="walk along this named direction (`latentlab attributes` "
                   "lists them) from each start (--seeds, --latents or random), in a straight line")
    w.add_argument("--from", dest="start_amount", type=float, default=-3.0, metavar="AMOUNT",
                   help="with --direction: where the walk starts, in standard deviations along it")
    w.add_argument("--to", dest="end_amount", type=float, default=3.0, metavar="AMOUNT",
                   help="with --direction: where it ends")
    w.add_argument("--keep", action="append", default=[], metavar="NAME",
                   help="with --direction: keep this attribute unchanged (conditional editing)")

    i = _command(sub, "import-dcgan", "convert a PyTorch DCGAN-example netG.pth into a latentlab checkpoint",
                 "latentlab import-dcgan netG_epoch_24.pth --out celeba-dcgan.safetensors",
                 "latentlab import-dcgan netG.pth --out small.safetensors --nz 64 --ngf 32")
    i.add_argument("netg", metavar="NETG.pth", help="a state dict saved by the PyTorch DCGAN example or tutorial")
    i.add_argument("--out", required=True, help="the checkpoint to write (.safetensors)")
    i.add_argument("--nz", type=_positive_int, default=100, help="latent size the generator was trained with")
    i.add_argument("--ngf", type=_positive_int, default=64, help="generator width it was trained with")
    i.add_argument("--force", action="store_true", help="replace --out if it exists")

    e = _command(sub, "encode", "encode photos with a VAE/GAN: write input | reconstruction pairs",
                 "latentlab encode vaegan.safetensors me.jpg friend.png --out pairs.png",
                 "latentlab encode vaegan.safetensors photos/*.jpg --out pairs.png --crop center --size 128")
    e.add_argument("checkpoint", help="a VAE/GAN checkpoint")
    e.add_argument("images", nargs="+", metavar="IMAGE", help="photos (any size; EXIF rotation, grayscale, RGBA)")
    e.add_argument("--out", required=True, help="the PNG to write: one row per photo, input | reconstruction")
    e.add_argument("--crop", choices=["auto", "center", "celeba148", "lfw150", "none"], default="auto",
                   help="how photos are cropped (auto: like the model's training data, else centre)")
    e.add_argument("--size", type=_positive_int, help="px per cell in the PNG (default: the model's size)")

    a = _command(sub, "attributes", "compute (with --data or --with/--without) or list attribute vectors",
                 "latentlab attributes vaegan.safetensors --data celeba:~/celeba --attr Smiling --attr Eyeglasses",
                 "latentlab attributes vaegan.safetensors --with hats/ --without no-hats/ --name hat")
    a.add_argument("checkpoint", help="any checkpoint (--data needs a VAE/GAN); vectors go to "
                   "CKPT.attributes.safetensors")
    a.add_argument("--data", help="a VAE/GAN and a labelled source: synthetic | synthetic-photo | celeba:PATH "
                   "(each label gives a vector)")
    a.add_argument("--attr", action="append", default=[], metavar="NAME",
                   help="with --data: only these labels (refused by name if one lacks examples)")
    a.add_argument("--with", dest="with_dir", metavar="DIR", help="photos that have the attribute (cropped like "
                   "the training data; each projected into the model, cached)")
    a.add_argument("--without", dest="without_dir", metavar="DIR", help="photos that do not")
    a.add_argument("--name", help="with --with/--without: the attribute's name")
    a.add_argument("--remove", metavar="NAME", help="delete the stored direction NAME")
    a.add_argument("--steps", type=_positive_int, help="with --with/--without: projection steps per photo "
                   "(default 150; 50 refining a VAE/GAN's encoder)")
    add_device_option(a, "with --with/--without: where to project")
    a.add_argument("--max-images", type=_positive_int, default=2000, help="at most this many images per source")

    tl = _command(sub, "timelapse", "the run's fixed-noise grids over training as a video",
                  "latentlab timelapse runs/tiny --out train.mp4 --label --hold-last 2",
                  "latentlab timelapse runs/tiny --out train.gif --from 500 --to 2000 --size 400 --fps 15")
    tl.add_argument("run", metavar="RUN", help="a run directory (also one still training, or written by torchrun)")
    tl.add_argument("--out", required=True, help="train.mp4 | train.webm | train.gif | FOLDER/ (PNG sequence)")
    tl.add_argument("--fps", type=float, default=30.0, help="frames per second, one grid a frame")
    tl.add_argument("--size", type=_positive_int, help="the frame's longer side in px (default: the grid "
                    "upscaled by the smallest whole factor reaching 512 px)")
    tl.add_argument("--from", dest="start", type=int, metavar="STEP", help="first step to include")
    tl.add_argument("--to", dest="stop", type=int, metavar="STEP", help="last step to include")
    tl.add_argument("--label", action="store_true", help="burn the step and epoch into the bottom-left corner")
    tl.add_argument("--hold-last", type=float, default=0.0, metavar="SECONDS", help="show the last grid this long")
    tl.add_argument("--preset", default=TIMELAPSE_PRESET, choices=X264_PRESETS, metavar="NAME",
                    help=f"x264 preset of an MP4, at crf {TIMELAPSE_CRF}: ultrafast matches veryfast at crf 16 in "
                    "quality at 1.3-2.8x the speed; veryfast writes files about half the size "
                    f"(default: {TIMELAPSE_PRESET})")

    tb = _command(sub, "tensorboard", "write or back-fill TensorBoard event files (RUN/tb/) for runs",
                  "latentlab tensorboard runs/tiny runs/dcgan")
    tb.add_argument("runs", nargs="+", metavar="RUN", help="run directories; each gets RUN/tb/ rebuilt from its logs")

    from latentlab.cli_edit import add_parsers as add_edit_parsers
    from latentlab.cli_photo import add_parsers as add_photo_parsers

    add_photo_parsers(sub, _positive_int, _command)
    add_edit_parsers(sub, _positive_int, _command)

    m = _command(sub, "metrics", "quality metrics of a checkpoint: precision/recall, FD; FID/KID with --fid",
                 "latentlab metrics runs/tiny/checkpoints/latest.safetensors --n 1000",
                 "latentlab metrics model.safetensors --data celeba:~/celeba --fid --json scores.json")
    m.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    m.add_argument("--data", help="the real images (default: the source the checkpoint was trained on)")
    m.add_argument("--n", type=_positive_int, default=2000, help="generated and real images compared")
    m.add_argument("--seed", type=int, default=None, help="seed of the generated z (default: fixed)")
    m.add_argument("--fid", action="store_true", help="also FID and KID (torchmetrics; needs the Inception weights)")
    m.add_argument("--inception", metavar="PATH", help="the FID Inception weights file "
                   "(weights-inception-2015-12-05-6726825d.pth); default: torch's cache, else downloaded")
    m.add_argument("--json", metavar="FILE", help="also write the values to this JSON file")

    x = _command(sub, "export", "export the generator (and a VAE/GAN's encoder) as ONNX or TorchScript",
                 "latentlab export vaegan.safetensors --onnx G.onnx --encoder E.onnx",
                 "latentlab export model.safetensors --onnx G16.onnx --batch 16 --torchscript G.pt")
    x.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    x.add_argument("--onnx", metavar="G.onnx", help="write the generator as ONNX (needs latentlab[export])")
    x.add_argument("--torchscript", metavar="G.pt", help="write the generator as TorchScript")
    x.add_argument("--encoder", metavar="E.onnx|E.pt", help="also write a VAE/GAN's encoder (mu, logvar); "
                   "the format follows the suffix")
    x.add_argument("--batch", default="dynamic", metavar="dynamic|N",
                   help="batch size of the ONNX graph: any, or a fixed N (TorchScript takes any)")
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
            status = _cmd_gui(args) if command == "gui" else COMMANDS[command](args)
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


def _cmd_gui(args) -> int:
    if getattr(args, "screenshot", None):  # refused before a window opens
        checked_output("--screenshot", args.screenshot, ".png", "the screenshot is written as PNG; name a .png file")
        if args.path and Path(args.path).is_file() and args.path.lower().endswith(".safetensors"):
            from latentlab.run.checkpoint import load_model

            load_model(args.path)  # a damaged checkpoint fails here with its reason, and no shot is taken
    from latentlab.gui.app import run_app

    return run_app(getattr(args, "path", None), getattr(args, "screenshot", None))


def _cmd_presets(args) -> int:
    from latentlab.config import load_preset, preset_names, preset_summary

    for name in preset_names():
        m = load_preset(name).model
        print(f"{name:14s} {m.arch:13s} {m.image_size:4d} px  {preset_summary(name)}")
    return 0


def resolve_train_config(args):
    from latentlab.config import Config, apply_override, load_preset, load_toml

    if args.preset and args.config:
        raise UserError("give --preset or --config, not both")
    if args.config:
        cfg = load_toml(args.config)
    elif args.preset:
        cfg = load_preset(args.preset)
    elif args.resume and args.out and RunLayout(args.out).config.is_file():
        cfg = load_toml(RunLayout(args.out).config)
    elif args.resume:
        raise UserError(f"--resume: {args.out or '(no --out)'}: not a run directory with a config.toml")
    else:
        cfg = Config()
        cfg.name = "custom"
    if args.data is not None:
        if not args.data.strip():
            raise UserError("--data is empty; name a source: synthetic | synthetic-photo | FOLDER | FILE.zip | "
                            "celeba:PATH | lfw:PATH")
        cfg.data.source = args.data
    if args.steps:
        cfg.train.steps = args.steps
    if args.epochs:
        cfg.train.epochs = args.epochs
        if not args.steps:
            cfg.train.steps = 0
    for key in ("batch", "device", "seed"):
        if getattr(args, key) is not None:
            setattr(cfg.train, key, getattr(args, key))
    for assignment in args.set:
        apply_override(cfg, assignment)
    return cfg.validate()


def _cmd_train(args) -> int:
    cfg = resolve_train_config(args)  # refused before torch is even imported

    from latentlab.run.control import Control, Event, StepStats
    from latentlab.train.distributed import DistContext
    from latentlab.train.engine import Trainer

    out = Path(args.out) if args.out else Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    dist = DistContext.from_env(cfg.train.device)
    show = dist.is_main and not args.quiet
    control = Control()
    bar = ProgressLine(enabled=show)
    # Ctrl-C and SIGTERM (what `timeout`, SLURM and Kubernetes send, and torchrun forwards to its
    # ranks) stop the same way: after the step under way, with a checkpoint, every rank together.
    received: list[int] = []

    def stop(signum, _frame) -> None:
        received.append(signum)
        control.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        trainer = Trainer(cfg, out, resume=args.resume, force_new=args.force_new, control=control, dist=dist,
                          data_progress=bar.data_progress if show else None)
        announced = False
        for item in trainer.run():
            if isinstance(item, StepStats):
                bar.step(item, trainer.total_steps)
            elif isinstance(item, Event):
                if not announced and show:
                    announced = True
                    bar.message(f"latentlab: {'resuming' if args.resume else 'training'} {cfg.name} "
                                f"({cfg.model.arch}, {cfg.model.image_size} px) on {trainer.device.type} into {out}")
                if item.kind in ("alert", "rollback", "error", "info", "setting") and show:
                    bar.message(f"[{item.kind}] {item.message}")
                if item.kind == "alert" and item.data.get("kind") == "nan":
                    status = 1
                    if not show:
                        ProgressLine().message(f"latentlab: {item.message}")
        bar.close()
        if show:
            state = "stopped" if control.stopped else "done"
            bar.message(f"latentlab: {state} at step {trainer.step}; run directory {out}")
        if control.stopped and status == 0:
            # A stop agreed with the other ranks without a signal here: a peer was sent SIGTERM.
            status = 128 + (received[0] if received else signal.SIGTERM)
    except RuntimeError as exc:
        if dist.world == 1:
            raise
        # A peer died or the network failed: say so and exit instead of waiting forever.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"latentlab: error: rank {dist.rank} of {dist.world} lost contact with the other ranks ({reason}); "
              "stopping. Resume with --resume once all ranks are up.", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)  # the process group cannot be torn down cleanly without its peers
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    dist.close()
    return status


def _check_out_folder(flag: str, path: Path) -> None:
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
    _check_out_folder(flag, path)
    return path


def _cmd_sample(args) -> int:
    import torch

    from latentlab.run.checkpoint import load_model
    from latentlab.run.grids import save_grid

    if not 0 < args.truncation <= 1:
        raise UserError(f"--truncation must be in (0, 1] (got {args.truncation})")
    out = checked_output("--out", args.out, ".png", "the grid is written as PNG; name a .png file")
    model = load_model(args.checkpoint)
    z = torch.randn(args.n, model.config.model.latent_dim, generator=torch.Generator().manual_seed(args.seed))
    z = z * args.truncation  # ψ rescales z toward the mean (0): fewer odd faces, less variety
    with torch.no_grad():
        images = model.G(z)
    save_grid(images, out)
    print(f"latentlab: wrote {args.n} samples of {args.checkpoint} (step {model.step}) to {out}", file=sys.stderr)
    return 0


def _cmd_import_dcgan(args) -> int:
    from latentlab.config import Config
    from latentlab.models.dcgan_import import import_dcgan_file
    from latentlab.run.checkpoint import load_model, save_checkpoint

    out = checked_output("--out", args.out, ".safetensors", "latentlab checkpoints are .safetensors files; name one")
    if out.exists() and not args.force:
        raise UserError(f"--out {out}: already exists; name another file or add --force to replace it")
    if out.is_dir():
        raise UserError(f"--out {out}: a folder; name a .safetensors file")
    model_cfg, G = import_dcgan_file(args.netg, nz=args.nz, ngf=args.ngf)
    cfg = Config(name=f"imported-{Path(args.netg).stem}", model=model_cfg).validate()
    tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
    save_checkpoint(out, tensors, {"config": cfg.to_toml(), "arch": model_cfg.arch, "step": 0, "epoch": 0,
                                   "imported_from": str(Path(args.netg).name)})
    load_model(out)  # what the app and `sample` will do with it: proves the file reads back
    print(f"latentlab: wrote {out} ({model_cfg.image_size} px DCGAN generator, nz={model_cfg.latent_dim}, "
          f"ngf={model_cfg.g_width}) from {args.netg}", file=sys.stderr)
    return 0


def _cmd_walk(args) -> int:
    from latentlab.render import Renderer
    from latentlab.video import check_output, check_walk_size, write_walk

    if args.direction is not None:
        from latentlab.cli_edit import cmd_walk_direction

        return cmd_walk_direction(args)
    if args.keep or args.start_amount != -3.0 or args.end_amount != 3.0:
        raise UserError("--from, --to and --keep go with --direction NAME")

    keyframes = args.keyframes if args.seeds is None and args.latents is None else None
    if args.seeds is not None:
        from latentlab.latent import parse_seeds

        keyframes = len(parse_seeds(args.seeds))
    check_walk_size(keyframes, args.grid, args.frames, args.loop)
    check_output(args.out, args.fps)
    renderer = Renderer.from_checkpoint(args.checkpoint, device=chosen_device(args.device))
    result = write_walk(renderer, args.out, n_keyframes=args.keyframes, seeds=args.seeds, latents_file=args.latents,
                        frames=args.frames, fps=args.fps, interp=args.interp, ease=args.ease, loop=args.loop,
                        size=args.size, upscale=args.upscale, grid=args.grid, truncation=args.truncation,
                        seed=args.seed, progress=ProgressLine().frames)
    print(f"latentlab: wrote {result.frames} frames ({result.width}x{result.height}, {result.fps:g} fps) to "
          f"{result.path} in {result.seconds:.1f} s", file=sys.stderr)
    return 0


def _cmd_timelapse(args) -> int:
    from latentlab.timelapse import write_timelapse

    result = write_timelapse(args.run, args.out, fps=args.fps, size=args.size, start=args.start, stop=args.stop,
                             label=args.label, hold_last=args.hold_last, preset=args.preset,
                             progress=ProgressLine().frames)
    print(f"latentlab: wrote {result.frames} frames ({result.grids} grids, {result.width}x{result.height}, "
          f"{result.fps:g} fps) to {result.path} in {result.seconds:.1f} s", file=sys.stderr)
    return 0


def _cmd_tensorboard(args) -> int:
    from latentlab.run.tbevents import backfill

    for run in args.runs:
        counts = backfill(run)
        print(f"latentlab: {RunLayout(run).tb}: {counts['scalars']} metric rows, {counts['images']} grids, "
              f"{counts['texts']} alerts and settings, {counts['quality']} quality figures", file=sys.stderr)
    print(f"latentlab: open them with: tensorboard --logdir {RunLayout(args.runs[0]).tb}", file=sys.stderr)
    return 0


def _cmd_encode(args) -> int:
    from latentlab.encode import check_cell, encode_photos, load_encoder_model, write_pairs

    check_cell(args.size)
    out = checked_output("--out", args.out, ".png", "the pairs are written as PNG; name a .png file")
    renderer = load_encoder_model(args.checkpoint)
    encoded = encode_photos(renderer, args.images, crop=args.crop,
                            warn=lambda text: print(f"latentlab: warning: {text}", file=sys.stderr))
    write_pairs(encoded, out, cell=args.size)
    skipped = f", {len(encoded.skipped)} unreadable skipped" if encoded.skipped else ""
    print(f"latentlab: wrote {len(encoded.names)} input | reconstruction pair(s) to {out} "
          f"({encoded.crop} crop{skipped})", file=sys.stderr)
    return 0


def _cmd_attributes(args) -> int:
    from latentlab.encode import (
        attributes_from_labels,
        attributes_path,
        format_rows,
        load_encoder_model,
        read_attributes,
        store_attributes,
    )

    folders = args.with_dir is not None or args.without_dir is not None
    if folders and args.data:
        raise UserError("give --data SOURCE or --with DIR --without DIR, not both")
    if folders and (args.with_dir is None or args.without_dir is None or not args.name):
        raise UserError("--with DIR, --without DIR and --name NAME go together")
    if (args.attr and not args.data) or (args.name and not folders):
        raise UserError("--attr goes with --data; --name goes with --with/--without")
    if args.steps and not folders:
        raise UserError("--steps goes with --with/--without")
    if args.remove and (folders or args.data):
        raise UserError("--remove NAME goes alone")
    if args.remove:
        from latentlab.latent.attributes import remove_attribute

        print(f"latentlab: removed {args.remove!r} from {remove_attribute(args.checkpoint, args.remove)}",
              file=sys.stderr)
    elif folders:
        from latentlab.cli_edit import cmd_attributes_folders
        from latentlab.latent.attributes import check_name

        check_name(args.name)
        cmd_attributes_folders(args)
    elif args.data:
        renderer = load_encoder_model(args.checkpoint)
        new = attributes_from_labels(renderer, args.data, names=args.attr or None, max_images=args.max_images)
        for note in new.notes:
            print(f"latentlab: note: {note}", file=sys.stderr)
        if not new.vectors:
            raise UserError(f"no attribute vector could be computed from {args.data}")
        path = store_attributes(args.checkpoint, new)
        print(f"latentlab: stored {len(new.vectors)} attribute vector(s) in {path}", file=sys.stderr)
    else:
        from latentlab.run.checkpoint import read_metadata

        if not Path(args.checkpoint).is_file():
            raise UserError(f"{args.checkpoint}: no such checkpoint file")
        read_metadata(args.checkpoint)  # a clear error for a foreign or damaged file
    attrs = read_attributes(args.checkpoint)
    if attrs is None or not attrs.vectors:
        print(f"no attribute vectors stored for {args.checkpoint} (expected {attributes_path(args.checkpoint)}); "
              "compute them with --data SOURCE or --with DIR --without DIR --name NAME")
        return 0
    print("\n".join(format_rows(attrs)))
    return 0


def _cmd_metrics(args) -> int:
    from latentlab.metrics.tracking import Z_SEED, evaluate_checkpoint, report_lines, write_json

    if args.n < 8:
        raise UserError(f"--n {args.n}: at least 8 images are needed for precision/recall")
    if args.json:
        _check_out_folder("--json", Path(args.json))
    values = evaluate_checkpoint(args.checkpoint, args.data, n=args.n, fid=args.fid or bool(args.inception),
                                 inception=args.inception, seed=Z_SEED if args.seed is None else args.seed,
                                 progress=lambda stage: print(f"latentlab metrics: {stage}", file=sys.stderr))
    print("\n".join(report_lines(values)))
    if args.json:
        print(f"latentlab: wrote {write_json(args.json, values)}", file=sys.stderr)
    return 0


def _cmd_align(args) -> int:
    from latentlab.cli_photo import cmd_align

    return cmd_align(args)


def _cmd_project(args) -> int:
    from latentlab.cli_photo import cmd_project

    return cmd_project(args)


def _cmd_edit(args) -> int:
    from latentlab.cli_edit import cmd_edit

    return cmd_edit(args)


def _cmd_export(args) -> int:
    from latentlab.models.export import export_format, export_onnx, export_torchscript, parse_batch
    from latentlab.run.checkpoint import load_model

    targets = [(flag, Path(path)) for flag, path in (("--onnx", args.onnx), ("--torchscript", args.torchscript),
                                                    ("--encoder", args.encoder)) if path]
    if not any(flag != "--encoder" for flag, _ in targets):
        raise UserError("name what to write: --onnx G.onnx and/or --torchscript G.pt")
    for flag, path in targets:
        fmt = export_format(path)
        if flag != "--encoder" and fmt != flag[2:]:
            raise UserError(f"{flag} {path}: name a {'.onnx' if flag == '--onnx' else '.pt'} file")
        _check_out_folder(flag, path)
    batch = parse_batch(str(args.batch))
    model = load_model(args.checkpoint)
    if args.encoder and model.E is None:
        raise UserError(f"--encoder: {args.checkpoint} is a {model.config.model.arch} checkpoint without an "
                        "encoder (only VAE/GANs have one)")
    extra = {"checkpoint": Path(args.checkpoint).name, "step": model.step}
    for flag, path in targets:
        role, net = ("encoder", model.E) if flag == "--encoder" else ("generator", model.G)
        fmt = export_format(path)
        started = time.monotonic()
        if fmt == "onnx":
            export_onnx(net, model.config.model, role, path, batch=batch, extra_meta=extra)
        else:
            export_torchscript(net, model.config.model, role, path, extra_meta=extra)
        print(f"latentlab: wrote the {role} as {'ONNX' if fmt == 'onnx' else 'TorchScript'} to {path} "
              f"in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


COMMANDS = {
    "metrics": _cmd_metrics,
    "train": _cmd_train,
    "sample": _cmd_sample,
    "presets": _cmd_presets,
    "import-dcgan": _cmd_import_dcgan,
    "walk": _cmd_walk,
    "encode": _cmd_encode,
    "attributes": _cmd_attributes,
    "timelapse": _cmd_timelapse,
    "tensorboard": _cmd_tensorboard,
    "align": _cmd_align,
    "project": _cmd_project,
    "export": _cmd_export,
    "edit": _cmd_edit,
}

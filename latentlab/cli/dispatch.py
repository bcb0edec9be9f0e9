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
    add_device_option,
    checked_output,
    examples_epilog,
    positive_int,
)
from latentlab.cli.progress import silence
from latentlab.cli.streams import BackgroundErrors, NamedStdout, describe_os_error, reopen_closed_streams, say_error
from latentlab.config import UserError
from latentlab.latent.choices import EASING_NAMES, INTERPOLATION_NAMES, UPSCALE_NAMES
from latentlab.media.x264 import TIMELAPSE_CRF, TIMELAPSE_PRESET, WALK_CRF, WALK_PRESET, X264_PRESETS


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

    t = add_command(sub, "train", "train a model headless (also under torchrun)",
                 "latentlab train --preset tiny --out runs/tiny --steps 2000",
                 "torchrun --nproc-per-node 4 -m latentlab train --preset dcgan --data celeba:~/celeba --out runs/d")
    t.add_argument("--preset", help="a preset name (see `latentlab presets`)")
    t.add_argument("--config", help="a config.toml (e.g. RUN/config.toml) to rerun")
    t.add_argument("--data", help="synthetic | FOLDER | FILE.zip | celeba:PATH | lfw:PATH (default: the preset's)")
    t.add_argument("--out", help="the run directory (default: runs/PRESET-TIMESTAMP)")
    t.add_argument("--steps", type=positive_int, help="total steps of the run (default: the preset's)")
    t.add_argument("--epochs", type=positive_int, help="total epochs (when --steps is not given)")
    t.add_argument("--batch", type=positive_int, help="images per step, over all ranks (default: the preset's)")
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

    s = add_command(sub, "sample", "write a grid of samples from a checkpoint",
                 "latentlab sample runs/tiny/checkpoints/latest.safetensors --out grid.png",
                 "latentlab sample model.safetensors --out safe.png --n 16 --seed 3 --truncation 0.7")
    s.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    s.add_argument("--out", required=True, help="the PNG to write")
    s.add_argument("--n", type=positive_int, default=64, help="how many samples")
    s.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    s.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="lower = safer faces, less variety")

    add_command(sub, "presets", "list the presets", "latentlab presets")

    w = add_command(sub, "walk", "record a latent-walk video (MP4, WebM, GIF or a folder of PNGs)",
                 "latentlab walk model.safetensors --out walk.mp4 --keyframes 6 --loop",
                 "latentlab walk model.safetensors --out smile.gif --direction smile --from -3 --to 3 --seeds 7")
    w.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    w.add_argument("--out", required=True, help="walk.mp4 | walk.webm | walk.gif | FOLDER/ (PNG sequence)")
    keys = w.add_mutually_exclusive_group()
    keys.add_argument("--keyframes", type=positive_int, default=4, help="N random keyframes")
    keys.add_argument("--seeds", help="keyframes from seeds, e.g. 1,2,3 (the app's seeds give the same faces)")
    keys.add_argument("--latents", metavar="FILE", help="keyframes from a bookmarks file exported by the app")
    w.add_argument("--frames", type=positive_int, default=30, help="frames per segment; at most "
                   f"{bounds.MAX_WALK_FRAMES} in the whole walk")
    w.add_argument("--fps", type=float, default=30.0, help="frames per second of the video")
    w.add_argument("--interp", choices=INTERPOLATION_NAMES, default="slerp", help="path between keyframes")
    w.add_argument("--ease", choices=EASING_NAMES, default="linear", help="pace along each segment")
    w.add_argument("--loop", action="store_true", help="end where it started, for a seamless loop")
    w.add_argument("--size", type=positive_int, help="output px per face (default: the model's size)")
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

    i = add_command(sub, "import-dcgan", "convert a PyTorch DCGAN-example netG.pth into a latentlab checkpoint",
                 "latentlab import-dcgan netG_epoch_24.pth --out celeba-dcgan.safetensors",
                 "latentlab import-dcgan netG.pth --out small.safetensors --nz 64 --ngf 32")
    i.add_argument("netg", metavar="NETG.pth", help="a state dict saved by the PyTorch DCGAN example or tutorial")
    i.add_argument("--out", required=True, help="the checkpoint to write (.safetensors)")
    i.add_argument("--nz", type=positive_int, default=100, help="latent size the generator was trained with")
    i.add_argument("--ngf", type=positive_int, default=64, help="generator width it was trained with")
    i.add_argument("--force", action="store_true", help="replace --out if it exists")

    e = add_command(sub, "encode", "encode photos with a VAE/GAN: write input | reconstruction pairs",
                 "latentlab encode vaegan.safetensors me.jpg friend.png --out pairs.png",
                 "latentlab encode vaegan.safetensors photos/*.jpg --out pairs.png --crop center --size 128")
    e.add_argument("checkpoint", help="a VAE/GAN checkpoint")
    e.add_argument("images", nargs="+", metavar="IMAGE", help="photos (any size; EXIF rotation, grayscale, RGBA)")
    e.add_argument("--out", required=True, help="the PNG to write: one row per photo, input | reconstruction")
    e.add_argument("--crop", choices=["auto", "center", "celeba148", "lfw150", "none"], default="auto",
                   help="how photos are cropped (auto: like the model's training data, else centre)")
    e.add_argument("--size", type=positive_int, help="px per cell in the PNG (default: the model's size)")

    a = add_command(sub, "attributes", "compute (with --data or --with/--without) or list attribute vectors",
                 "latentlab attributes vaegan.safetensors --data celeba:~/celeba --attr Smiling --attr Eyeglasses",
                 "latentlab attributes vaegan.safetensors --with hats/ --without no-hats/ --name hat")
    a.add_argument("checkpoint", help="any checkpoint (--data needs a VAE/GAN); vectors go to "
                   "CKPT.attributes.safetensors")
    a.add_argument("--data", help="a VAE/GAN and a labelled source: synthetic | celeba:PATH (each label gives a "
                   "vector)")
    a.add_argument("--attr", action="append", default=[], metavar="NAME",
                   help="with --data: only these labels (refused by name if one lacks examples)")
    a.add_argument("--with", dest="with_dir", metavar="DIR", help="photos that have the attribute (cropped like "
                   "the training data; each projected into the model, cached)")
    a.add_argument("--without", dest="without_dir", metavar="DIR", help="photos that do not")
    a.add_argument("--name", help="with --with/--without: the attribute's name")
    a.add_argument("--remove", metavar="NAME", help="delete the stored direction NAME")
    a.add_argument("--steps", type=positive_int, help="with --with/--without: projection steps per photo "
                   "(default 150; 50 refining a VAE/GAN's encoder)")
    add_device_option(a, "with --with/--without: where to project")
    a.add_argument("--max-images", type=positive_int, default=2000, help="at most this many images per source")

    tl = add_command(sub, "timelapse", "the run's fixed-noise grids over training as a video",
                  "latentlab timelapse runs/tiny --out train.mp4 --label --hold-last 2",
                  "latentlab timelapse runs/tiny --out train.gif --from 500 --to 2000 --size 400 --fps 15")
    tl.add_argument("run", metavar="RUN", help="a run directory (also one still training, or written by torchrun)")
    tl.add_argument("--out", required=True, help="train.mp4 | train.webm | train.gif | FOLDER/ (PNG sequence)")
    tl.add_argument("--fps", type=float, default=30.0, help="frames per second, one grid a frame")
    tl.add_argument("--size", type=positive_int, help="the frame's longer side in px (default: the grid "
                    "upscaled by the smallest whole factor reaching 512 px)")
    tl.add_argument("--from", dest="start", type=int, metavar="STEP", help="first step to include")
    tl.add_argument("--to", dest="stop", type=int, metavar="STEP", help="last step to include")
    tl.add_argument("--label", action="store_true", help="burn the step and epoch into the bottom-left corner")
    tl.add_argument("--hold-last", type=float, default=0.0, metavar="SECONDS", help="show the last grid this long")
    tl.add_argument("--preset", default=TIMELAPSE_PRESET, choices=X264_PRESETS, metavar="NAME",
                    help=f"x264 preset of an MP4, at crf {TIMELAPSE_CRF}: ultrafast matches {WALK_PRESET} at crf {WALK_CRF} in "
                    "quality at 1.3-2.8x the speed; veryfast writes files about half the size "
                    f"(default: {TIMELAPSE_PRESET})")

    tb = add_command(sub, "tensorboard", "write or back-fill TensorBoard event files (RUN/tb/) for runs",
                  "latentlab tensorboard runs/tiny runs/dcgan")
    tb.add_argument("runs", nargs="+", metavar="RUN", help="run directories; each gets RUN/tb/ rebuilt from its logs")

    photo.add_parsers(sub)
    edit.add_parsers(sub)

    m = add_command(sub, "metrics", "quality metrics of a checkpoint: precision/recall, FD; FID/KID with --fid",
                 "latentlab metrics runs/tiny/checkpoints/latest.safetensors --n 1000",
                 "latentlab metrics model.safetensors --data celeba:~/celeba --fid --json scores.json")
    m.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    m.add_argument("--data", help="the real images (default: the source the checkpoint was trained on)")
    m.add_argument("--n", type=positive_int, default=2000, help="generated and real images compared")
    m.add_argument("--seed", type=int, default=None, help="seed of the generated z (default: fixed)")
    m.add_argument("--fid", action="store_true", help="also FID and KID (torchmetrics; needs the Inception weights)")
    m.add_argument("--inception", metavar="PATH", help="the FID Inception weights file "
                   "(weights-inception-2015-12-05-6726825d.pth); default: torch's cache, else downloaded")
    m.add_argument("--json", metavar="FILE", help="also write the values to this JSON file")

    x = add_command(sub, "export", "export the generator (and a VAE/GAN's encoder) as ONNX or TorchScript",
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

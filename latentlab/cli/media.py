"""`latentlab sample`, `walk` and `timelapse`: images and videos from a checkpoint or a run."""

from __future__ import annotations

import sys

from latentlab import bounds
from latentlab.cli.common import add_command, add_device_option, checked_output, chosen_device, positive_int
from latentlab.config import UserError
from latentlab.latent.choices import EASING_NAMES, INTERPOLATION_NAMES, UPSCALE_NAMES
from latentlab.media.x264 import TIMELAPSE_CRF, TIMELAPSE_PRESET, WALK_CRF, WALK_PRESET, X264_PRESETS
from latentlab.progress import ProgressLine


def cmd_sample(args) -> int:
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


def cmd_walk(args) -> int:
    from latentlab.inference.render import Renderer
    from latentlab.media.video import check_output, check_walk_size, write_walk

    if args.direction is not None:
        from latentlab.cli.edit import cmd_walk_direction

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


def cmd_timelapse(args) -> int:
    from latentlab.media.timelapse import write_timelapse

    result = write_timelapse(args.run, args.out, fps=args.fps, size=args.size, start=args.start, stop=args.stop,
                             label=args.label, hold_last=args.hold_last, preset=args.preset,
                             progress=ProgressLine().frames)
    print(f"latentlab: wrote {result.frames} frames ({result.grids} grids, {result.width}x{result.height}, "
          f"{result.fps:g} fps) to {result.path} in {result.seconds:.1f} s", file=sys.stderr)
    return 0


def add_sample_parser(sub) -> None:
    s = add_command(sub, "sample", "write a grid of samples from a checkpoint",
                    "latentlab sample runs/tiny/checkpoints/latest.safetensors --out grid.png",
                    "latentlab sample model.safetensors --out safe.png --n 16 --seed 3 --truncation 0.7")
    s.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    s.add_argument("--out", required=True, help="the PNG to write")
    s.add_argument("--n", type=positive_int, default=64, help="how many samples")
    s.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    s.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="lower = safer faces, less variety")



def add_walk_parser(sub) -> None:
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



def add_timelapse_parser(sub) -> None:
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

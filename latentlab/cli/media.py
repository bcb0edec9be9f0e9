"""`latentlab sample`, `walk` and `timelapse`: images and videos from a checkpoint or a run."""

from __future__ import annotations

import sys

from latentlab.cli.common import checked_output, chosen_device
from latentlab.cli.progress import ProgressLine
from latentlab.config import UserError


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

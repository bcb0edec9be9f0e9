"""`latentlab edit`, `walk --direction` and `attributes --with/--without`: named directions from the
command line (cli.py's part). The work is latentlab.api's; this module reads arguments, shows
progress on one line and writes files (temporary file + rename)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from latentlab.bounds import AMOUNT
from latentlab.config import UserError



def add_parsers(sub, positive_int, command) -> None:
    """`command(sub, name, help, *examples)`: cli.py's subcommand factory (help with examples)."""
    e = command(sub, "edit", "edit photos' faces along named directions (any model): input | found | edited rows",
                "latentlab edit model.safetensors me.jpg --direction smile=+2 --out rows.png",
                "latentlab edit model.safetensors a.jpg b.jpg --direction smile=2 --direction glasses=-1 "
                "--keep hair --out rows.png --latents edited.json")
    e.add_argument("checkpoint", help="any latentlab checkpoint with named directions (`latentlab attributes`)")
    e.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of any size (the face is found and aligned)")
    e.add_argument("--direction", action="append", default=[], required=True, metavar="NAME=AMOUNT",
                   help="move along a named direction, in standard deviations (repeatable)")
    e.add_argument("--keep", action="append", default=[], metavar="NAME",
                   help="keep this attribute unchanged while editing (conditional editing, Shen et al. 2020)")
    e.add_argument("--out", required=True, help="the PNG to write: one row per photo, input | found | edited")
    e.add_argument("--latents", metavar="FILE.json", help="also write the edited latents as a bookmarks file")
    e.add_argument("--steps", type=positive_int, default=None, help="projection steps (default 150)")
    e.add_argument("--size", type=positive_int, help="px per cell in the PNG (default: 128)")
    e.add_argument("--no-cache", action="store_true", help="project again even when a projection is cached")
    from latentlab.cli import add_device_option

    add_device_option(e, "where to project and render")


def parse_amounts(items: list[str]) -> dict[str, float]:
    """['smile=+2', 'glasses=-1'] -> {'smile': 2.0, 'glasses': -1.0}; UserError for a malformed one."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--direction {item!r}: write NAME=AMOUNT, e.g. smile=+2")
        try:
            amount = AMOUNT.parse(value)
        except ValueError as exc:
            raise UserError(f"--direction {item!r}: write NAME=AMOUNT, e.g. smile=+2; the amount {exc}") from None
        out[name.strip()] = out.get(name.strip(), 0.0) + amount
    return out


def _check_names(model, names) -> None:
    for name in names:
        model.direction(name)  # UserError listing the known ones


def cmd_edit(args) -> int:
    from latentlab.api import load
    from latentlab.cli import checked_output, chosen_device
    from latentlab.cli_progress import ProgressLine
    from latentlab.cli_progress import bar as progress_bar
    from latentlab.latent.bookmarks import Bookmark, save_bookmarks
    from latentlab.photo import rows_image
    from latentlab.run.grids import save_png

    amounts = parse_amounts(args.direction)
    out = checked_output("--out", args.out, ".png", "the rows are written as PNG; name a .png file")
    if args.latents:
        checked_output("--latents", args.latents, ".json", "bookmarks are a .json file; name one")
    model = load(args.checkpoint, device=chosen_device(args.device))
    _check_names(model, [*amounts, *args.keep])
    inputs, names, skipped = [], [], []
    for path in args.photos:
        try:
            aligned, _ = model.align(path)
        except UserError as exc:
            if len(args.photos) == 1:
                raise
            skipped.append(str(exc))
            print(f"latentlab: warning: {exc}; skipped", file=sys.stderr)
            continue
        inputs.append(aligned[0])
        names.append(path)
    if not inputs:
        raise UserError(f"none of the {len(args.photos)} photos could be used")
    line = ProgressLine()

    def progress(done, total):
        if line.due(final=done == total):
            line.show(f"projecting {done}/{total} {progress_bar(done / max(total, 1))}", final=done == total)

    found = model.project_aligned(np.stack(inputs), steps=args.steps, cache=not args.no_cache, progress=progress,
                                  names=names)
    line.close()
    edited = model.render(model.edit_by(found.z, amounts, keep=args.keep))
    cell = args.size or 128
    save_png(rows_image([[a, b, c] for a, b, c in zip(found.inputs, found.images, edited.images)], cell), out)
    if args.latents:
        save_bookmarks(args.latents, [Bookmark(f"{Path(n).stem} " + " ".join(f"{k}{v:+g}" for k, v in amounts.items()),
                                               z) for n, z in zip(names, edited.z)])
    what = ", ".join(f"{k} {v:+g}" for k, v in amounts.items())
    keep = f" keeping {', '.join(args.keep)}" if args.keep else ""
    extra = f"; latents in {args.latents}" if args.latents else ""
    skip = f", {len(skipped)} skipped" if skipped else ""
    print(f"latentlab: wrote {len(names)} input | found | edited row(s) ({what}{keep}; mean projection error "
          f"{float(found.errors.mean()):.1f} grey levels) to {out}{skip}{extra}", file=sys.stderr)
    return 0


def walk_direction_keyframes(model, args, rows: int, cols: int) -> np.ndarray:
    """(cells, 2, nz): each cell's start moved to --from and --to along --direction."""
    from latentlab.latent import grid_keyframes, parse_seeds, seed_latent
    from latentlab.latent.bookmarks import load_bookmarks

    cells = rows * cols
    lo, hi = args.start_amount, args.end_amount  # each within bounds.AMOUNT (argparse)
    if lo == hi:
        raise UserError(f"--from and --to are both {lo:g}: nothing to walk")
    if args.seeds is not None:
        starts = np.stack([seed_latent(s, model.latent_dim) for s in parse_seeds(args.seeds)])
    elif args.latents is not None:
        marks = load_bookmarks(args.latents, model.latent_dim)
        if not marks:
            raise UserError(f"--latents {args.latents}: holds no bookmarks to start from")
        starts = np.stack([np.asarray(b.z, np.float32) for b in marks])
    else:
        starts = grid_keyframes(rows, cols, 1, model.latent_dim, args.seed).reshape(cells, model.latent_dim)
    if len(starts) < cells:
        raise UserError(f"a {rows}x{cols} grid walks from {cells} starts; {args.seeds or args.latents} gives "
                        f"{len(starts)}")
    starts = starts[:cells]
    keep = getattr(args, "keep", []) or []
    return np.stack([model.edit_by(starts, {args.direction: lo}, keep),
                     model.edit_by(starts, {args.direction: hi}, keep)], axis=1)


def cmd_walk_direction(args) -> int:
    from latentlab.api import Model
    from latentlab.cli import chosen_device
    from latentlab.cli_progress import ProgressLine
    from latentlab.render import Renderer
    from latentlab.video import check_output, check_walk_size, write_walk

    rows, cols = check_walk_size(None, args.grid)
    check_output(args.out, args.fps)
    model = Model(Renderer.from_checkpoint(args.checkpoint, device=chosen_device(args.device)))
    model.direction(args.direction)
    for name in getattr(args, "keep", []) or []:
        model.direction(name)
    keyframes = walk_direction_keyframes(model, args, rows, cols)
    result = write_walk(model.renderer, args.out, keyframes=keyframes, frames=args.frames, fps=args.fps,
                        interp="lerp", ease=args.ease, loop=args.loop, size=args.size, upscale=args.upscale,
                        grid=args.grid, truncation=args.truncation, progress=ProgressLine().frames)
    print(f"latentlab: wrote {result.frames} frames along {args.direction} from {args.start_amount:+g} to "
          f"{args.end_amount:+g} ({result.width}x{result.height}, {result.fps:g} fps) to {result.path} in "
          f"{result.seconds:.1f} s", file=sys.stderr)
    return 0


def cmd_attributes_folders(args) -> int:
    """--with DIR --without DIR --name NAME, for any model: project (or encode and refine) both
    folders, fit the classifier, store the direction beside the checkpoint."""
    from latentlab.api import load
    from latentlab.cli import chosen_device
    from latentlab.cli_progress import ProgressLine
    from latentlab.cli_progress import bar as progress_bar

    model = load(args.checkpoint, device=chosen_device(args.device))
    line = ProgressLine()

    def progress(flag, done, total):
        if line.due(final=done == total):
            line.show(f"{flag} photos: {done}/{total} projected {progress_bar(done / max(total, 1))}",
                      final=done == total)

    fit = model.direction_from_folders(args.name, args.with_dir, args.without_dir, max_images=args.max_images,
                                       steps=args.steps, progress=progress)
    line.close()
    path = model.save_direction(args.name, fit, kind="folders",
                                source=f"with {args.with_dir} / without {args.without_dir}")
    acc = "n/a (too few photos to hold any out)" if not np.isfinite(fit.accuracy) else f"{fit.accuracy:.0%}"
    print(f"latentlab: stored direction {args.name.strip()!r} ({fit.counts[0]} with, {fit.counts[1]} without; "
          f"held-out accuracy {acc}) in {path}", file=sys.stderr)
    return 0

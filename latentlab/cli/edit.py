"""`latentlab edit`, `walk --direction` and `attributes --with/--without`: named directions from the
command line (the CLI's part). The work is latentlab.inference.api's; this module reads arguments, shows
progress on one line and writes files (temporary file + rename)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from latentlab.bounds import AMOUNT
from latentlab.cli.common import add_command, add_device_option, checked_output, chosen_device, positive_int
from latentlab.config import UserError
from latentlab.progress import ProgressLine
from latentlab.progress import bar as progress_bar


def add_parsers(sub) -> None:
    e = add_command(sub, "edit", "edit photos' faces along named directions (any model): input | found | edited rows",
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
    from latentlab.inference.api import load
    from latentlab.inference.photo import rows_image
    from latentlab.latent.bookmarks import Bookmark, save_bookmarks
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
    from latentlab.inference.api import Model
    from latentlab.inference.render import Renderer
    from latentlab.media.video import check_output, check_walk_size, write_walk

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
    from latentlab.inference.api import load

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


def cmd_attributes(args) -> int:
    from latentlab.inference.encode import (
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


def add_attributes_parser(sub) -> None:
    a = add_command(sub, "attributes", "compute (with --data or --with/--without) or list attribute vectors",
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
    a.add_argument("--steps", type=positive_int, help="with --with/--without: projection steps per photo "
                   "(default 150; 50 refining a VAE/GAN's encoder)")
    add_device_option(a, "with --with/--without: where to project")
    a.add_argument("--max-images", type=positive_int, default=2000, help="at most this many images per source")

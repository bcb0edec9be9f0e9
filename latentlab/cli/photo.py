"""`latentlab align`, `project` and `encode`: argument parsing and output for photos.

The work is in latentlab.inference.photo and latentlab.data.align; this module reads arguments, reports
progress on one line and writes files (temporary file + rename).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from latentlab.cli.common import add_command, add_device_option, checked_output, chosen_device, positive_int
from latentlab.config import UserError
from latentlab.progress import ProgressLine
from latentlab.progress import bar as progress_bar


def add_parsers(sub) -> None:
    a = add_command(sub, "align", "find the face in photos and write it aligned like a model's training data",
                    "latentlab align me.jpg group.jpg --out aligned/ --like model.safetensors",
                    "latentlab align photo.jpg --out aligned/ --crop lfw --size 128 --box 120,80,200,200")
    a.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of any size (EXIF rotation honoured)")
    a.add_argument("--out", required=True, metavar="DIR", help="folder for the aligned PNGs (created if missing)")
    like = a.add_mutually_exclusive_group()
    like.add_argument("--like", metavar="CKPT", help="align like the training data of this checkpoint")
    like.add_argument("--crop", choices=["celeba", "lfw", "synthetic"], default=None,
                      help="the crop convention (default: celeba)")
    a.add_argument("--size", type=positive_int, help="output px (default: the checkpoint's size, else 64)")
    _face_options(a)

    p = add_command(sub, "project", "find the latent of a photo's face in any model (GAN inversion)",
                    "latentlab project model.safetensors me.jpg --out rows.png --latents me.json",
                    "latentlab project model.safetensors group.jpg --face 2 --steps 300 --out rows.png")
    p.add_argument("checkpoint", help="any latentlab checkpoint (DCGAN, 2015 GAN, imported netG, VAE/GAN)")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of any size (EXIF rotation honoured)")
    p.add_argument("--out", required=True, help="the PNG to write: one row per photo, input | aligned | result")
    p.add_argument("--steps", type=positive_int, default=None, help="optimisation steps (default 150)")
    p.add_argument("--restarts", type=positive_int, default=None, help="starting latents kept (default 4)")
    p.add_argument("--latents", metavar="FILE.json", help="also write the latents as a bookmarks file "
                   "(`latentlab walk --latents` and the app read it)")
    p.add_argument("--crop", choices=["celeba", "lfw", "synthetic"], default=None,
                   help="the crop convention (default: the model's training data)")
    p.add_argument("--size", type=positive_int, help="px per cell in the PNG (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starting latents")
    add_device_option(p, "where to optimise")
    _face_options(p)


def _face_options(parser) -> None:
    parser.add_argument("--box", metavar="X,Y,W,H", help="the face's box in photo pixels (overrides the detector)")
    parser.add_argument("--face", type=int, default=1, metavar="N", help="which face found (1: the surest)")


def _warn(text: str) -> None:
    print(f"latentlab: warning: {text}", file=sys.stderr)


def _prepare_all(paths, conv, size, box_text, face):
    """Each photo aligned; unreadable or faceless ones skipped with a warning (an error when none
    is left: with one photo, its own message)."""
    from latentlab.inference.photo import parse_box, prepare_photo

    box = parse_box(box_text)
    if face < 1:
        raise UserError(f"--face must be 1 or more (got {face})")
    prepared, errors = [], []
    for path in paths:
        try:
            prepared.append(prepare_photo(path, conv, size, box=box, index=face - 1))
        except UserError as exc:
            errors.append(str(exc))
            if len(paths) > 1:
                _warn(f"{exc}; skipped")
    if not prepared:
        raise UserError(errors[0] if len(errors) == 1 else f"none of the {len(paths)} photos could be used")
    return prepared, errors


def cmd_align(args) -> int:
    from latentlab.data.align import convention
    from latentlab.inference.photo import model_convention
    from latentlab.run.grids import save_png

    size = args.size
    if args.like:
        from latentlab.inference.render import Renderer

        renderer = Renderer.from_checkpoint(args.like)
        conv, size = model_convention(renderer), size or renderer.image_size
    else:
        conv = convention(args.crop or "celeba")
    size = size or 64
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: not a folder")
    targets = [out / f"{Path(p).stem}.png" for p in args.photos]
    clash = next((t for t in targets if t.exists()), None)
    if clash is not None:
        raise UserError(f"--out {out}: {clash.name} already exists; choose another folder")
    if len(set(targets)) != len(targets):
        raise UserError("two photos have the same name; align them into separate folders")
    started = time.perf_counter()
    prepared, errors = _prepare_all(args.photos, conv, size, args.box, args.face)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create it ({exc.strerror or exc})") from None
    for item in prepared:
        save_png(item.aligned, out / f"{Path(item.path).stem}.png")
        how = "from the box alone (no eyes found)" if item.from_box else "by the eyes"
        print(f"latentlab: {item.path}: {len(item.faces)} face(s) found, aligned {how}", file=sys.stderr)
    ms = (time.perf_counter() - started) * 1000 / max(1, len(args.photos))
    skipped = f", {len(errors)} skipped" if errors else ""
    print(f"latentlab: wrote {len(prepared)} aligned face(s) ({conv.name}, {conv.crop} crop, {size} px) to {out} "
          f"in {ms:.0f} ms per photo{skipped}", file=sys.stderr)
    return 0


def cmd_project(args) -> int:
    from latentlab.data.align import convention
    from latentlab.inference.photo import (
        DEFAULT_RESTARTS,
        DEFAULT_STEPS,
        model_convention,
        outlined,
        project,
        rows_image,
    )
    from latentlab.inference.render import Renderer
    from latentlab.latent.bookmarks import Bookmark, save_bookmarks
    from latentlab.run.grids import save_png

    out = checked_output("--out", args.out, ".png", "the rows are written as PNG; name a .png file")
    if args.latents:
        checked_output("--latents", args.latents, ".json", "bookmarks are a .json file; name one")
    renderer = Renderer.from_checkpoint(args.checkpoint, device=chosen_device(args.device))
    conv = convention(args.crop) if args.crop else model_convention(renderer)
    size = renderer.image_size
    prepared, errors = _prepare_all(args.photos, conv, size, args.box, args.face)
    steps, restarts = args.steps or DEFAULT_STEPS, args.restarts or DEFAULT_RESTARTS
    bar = ProgressLine()
    rows, marks = [], []
    cell = args.size or 128
    for i, item in enumerate(prepared, 1):
        def progress(s, i=i):
            if bar.due(final=s.step == s.steps, log_every=5.0):
                bar.show(f"photo {i}/{len(prepared)} step {s.step}/{s.steps} {progress_bar(s.step / max(s.steps, 1))} "
                         f"error {s.error:.1f}", final=s.step == s.steps)

        result = project(renderer.G, item.aligned, E=renderer.E, steps=steps, restarts=restarts, seed=args.seed,
                         progress=progress)
        rows.append([outlined(item.pixels, item.box, cell), item.aligned, result.image])
        marks.append(Bookmark(f"photo {Path(item.path).stem}", result.z))
        start = f" (encoder start {result.start_error:.1f})" if result.start == "encoder" else ""
        bar.message(f"latentlab: {item.path}: mean error {result.error:.1f} grey levels{start} in {result.seconds:.1f} s")
    save_png(rows_image(rows, cell), out)
    if args.latents:
        save_bookmarks(args.latents, marks)
    skipped = f", {len(errors)} skipped" if errors else ""
    latents = f"; latents in {args.latents}" if args.latents else ""
    print(f"latentlab: wrote {len(rows)} input | aligned | result row(s) to {out} ({conv.name} alignment"
          f"{skipped}){latents}", file=sys.stderr)
    return 0


def cmd_encode(args) -> int:
    from latentlab.inference.encode import check_cell, encode_photos, load_encoder_model, write_pairs

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


def add_encode_parser(sub) -> None:
    e = add_command(sub, "encode", "encode photos with a VAE/GAN: write input | reconstruction pairs",
                    "latentlab encode vaegan.safetensors me.jpg friend.png --out pairs.png",
                    "latentlab encode vaegan.safetensors photos/*.jpg --out pairs.png --crop center --size 128")
    e.add_argument("checkpoint", help="a VAE/GAN checkpoint")
    e.add_argument("images", nargs="+", metavar="IMAGE", help="photos (any size; EXIF rotation, grayscale, RGBA)")
    e.add_argument("--out", required=True, help="the PNG to write: one row per photo, input | reconstruction")
    e.add_argument("--crop", choices=["auto", "center", "celeba148", "lfw150", "none"], default="auto",
                   help="how photos are cropped (auto: like the model's training data, else centre)")
    e.add_argument("--size", type=positive_int, help="px per cell in the PNG (default: the model's size)")

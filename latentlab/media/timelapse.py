"""A run's fixed-noise grids over training as a video (`latentlab timelapse`, Record › Timelapse).

Frames are RUN/samples/step-NNNNNNNN.png in step order, upscaled nearest-neighbour (codecs smear
small frames), with an optional "step N  epoch E" label burned into the bottom-left corner. A run
that is still training gives the grids written so far (a grid appears by rename, so a half-written
one is never listed). A second thread decodes, upscales, labels and converts each grid to the
encoder's colour format while the calling thread encodes (latentlab.media.pipeline, shared with the
walk); a bounded queue between them keeps memory flat in the number of frames.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.config import UserError
from latentlab.media.pipeline import pipeline
from latentlab.media.video import MAX_SIDE, WalkResult, check_output, open_writer
from latentlab.media.x264 import TIMELAPSE_CRF, TIMELAPSE_PRESET, X264_PRESETS
from latentlab.run.layout import RunLayout

DEFAULT_SIDE = 512  # grids shorter than this are upscaled by the smallest whole factor reaching it
QUEUE_FRAMES = 8


@dataclass
class TimelapseResult(WalkResult):  # frames counts the hold too
    grids: int = 0


def grid_files(run: str | os.PathLike, start: int | None = None, stop: int | None = None) -> list[tuple[int, Path]]:
    """(step, path) of the run's sample grids with start <= step <= stop, in step order."""
    return RunLayout(run).grids(start, stop)


def epochs_of(run: str | os.PathLike, steps) -> dict[int, int]:
    """The epoch of each of `steps`, read from metrics.jsonl (streamed: a long log is never held)."""
    wanted, out = set(steps), {}
    try:
        with open(RunLayout(run).metrics, "rb") as f:
            for line in f:
                try:
                    row = json.loads(line)
                    if row["step"] in wanted:
                        out[int(row["step"])] = int(row["epoch"])
                except (ValueError, KeyError, TypeError):
                    continue  # a half-written last line of a run still training
    except OSError:
        pass
    return out


def frame_size(grid_w: int, grid_h: int, size: int | None) -> tuple[int, int]:
    """The output (width, height): `size` is the longer side; by default a whole multiple of the grid
    of at least DEFAULT_SIDE px, so every grid pixel becomes the same square block."""
    if size is None:
        factor = max(1, -(-DEFAULT_SIDE // max(grid_w, grid_h)))
        return grid_w * factor, grid_h * factor
    if not 1 <= size <= MAX_SIDE:
        raise UserError(f"--size must be between 1 and {MAX_SIDE} px (got {size})")
    scale = size / max(grid_w, grid_h)
    return max(1, round(grid_w * scale)), max(1, round(grid_h * scale))


def label_text(step: int, epoch: int | None) -> str:
    return f"step {step}" + (f"  epoch {epoch}" if epoch is not None else "")


def label_box(text: str, width: int, height: int) -> np.ndarray:
    """`text` white on a black box (even sides, for 4:2:0 chroma), in Pillow's built-in bitmap font scaled
    by a whole factor so it stays legible on large frames, cropped to a width x height frame."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default_imagefont()
    _, _, right, bottom = font.getbbox(text)
    pad = 2
    box = Image.new("RGB", (right + 2 * pad, bottom + 2 * pad), (0, 0, 0))
    ImageDraw.Draw(box).text((pad, pad), text, font=font, fill=(255, 255, 255))
    scale = max(1, min(width, height) // 256)
    arr = np.asarray(box).repeat(scale, 0).repeat(scale, 1)
    arr = np.pad(arr, ((arr.shape[0] % 2, 0), (0, arr.shape[1] % 2), (0, 0)))  # black row on top, column right
    return arr[arr.shape[0] - min(arr.shape[0], height - height % 2):, : min(arr.shape[1], width - width % 2)]


def burn_label(img, text: str):
    """Draws the label box into the bottom-left corner of a PIL image."""
    from PIL import Image

    box = label_box(text, img.width, img.height)
    img.paste(Image.fromarray(box), (0, img.height - box.shape[0]))
    return img


def label_corner(width: int, height: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) region any label can cover: the bottom-left quarter."""
    return 0, height // 2, width // 2, height


def render_frame(path: Path, size: tuple[int, int], text: str | None):
    """One grid as a PIL image at the frame size, labelled."""
    from PIL import Image

    with Image.open(path) as im:
        img = im.convert("RGB")
    if img.size != size:
        img = img.resize(size, Image.NEAREST)
    if text is not None:
        img = burn_label(img, text)
    return img


# RGB -> Y'CbCr, BT.601 limited range (what swscale's default, AVWriter.write, uses), as the 3×4 affine
# matrix of PIL's Image.convert: one C pass over the small grid.
_YUV601 = (65.481 / 255, 128.553 / 255, 24.966 / 255, 16.0,
           -37.797 / 255, -74.203 / 255, 112.0 / 255, 128.0,
           112.0 / 255, -93.786 / 255, -18.214 / 255, 128.0)


def _planes(img, size: tuple[int, int], box_filter: bool = False) -> list:
    """Y at `size`, Cb and Cr at half of it, of an RGB PIL image. Nearest-neighbour samples each chroma
    pixel at the centre of its 2×2 block (exactly the block's colour for a whole even upscale factor);
    box_filter averages the block instead (for the label, drawn at the frame's own size)."""
    from PIL import Image

    y, cb, cr = img.convert("RGB", matrix=_YUV601).split()
    half = (size[0] // 2, size[1] // 2)
    resample = Image.BOX if box_filter else Image.NEAREST
    return [y.resize(size, Image.NEAREST), cb.resize(half, resample), cr.resize(half, resample)]


def grid_i420(path: Path, size: tuple[int, int], text: str | None) -> np.ndarray:
    """One grid straight to I420 planes (H·3/2, W) at an even frame size: converted at the grid's own
    size, then each plane upscaled, so the colour conversion costs a fraction of converting the frame."""
    from PIL import Image

    width, height = size
    with Image.open(path) as im:
        y, cb, cr = _planes(im.convert("RGB"), size)
    if text is not None:
        box = label_box(text, width, height)
        bh, bw = box.shape[:2]
        by, bcb, bcr = _planes(Image.fromarray(box), (bw, bh), box_filter=True)
        y.paste(by, (0, height - bh))
        cb.paste(bcb, (0, (height - bh) // 2))
        cr.paste(bcr, (0, (height - bh) // 2))
    return np.frombuffer(y.tobytes() + cb.tobytes() + cr.tobytes(), np.uint8).reshape(height * 3 // 2, width)


def write_timelapse(run: str | os.PathLike, out: str | os.PathLike, *, fps: float = 30, size: int | None = None,
                    start: int | None = None, stop: int | None = None, label: bool = False,
                    hold_last: float = 0.0, progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None, crf: int | None = None,
                    preset: str = TIMELAPSE_PRESET) -> TimelapseResult:
    """Write the grids of `run` (start <= step <= stop) into `out` (.mp4, .webm, .gif or a folder of
    PNGs), then the last grid again for `hold_last` seconds. progress(done, total) follows the frames;
    cancel() returning True removes the partial output and returns cancelled=True. Mistakes (not a
    run, no grid, bad options) raise UserError before anything is created. `preset` and `crf` are
    x264's (MP4 only; crf defaults to TIMELAPSE_CRF there and to the writer's own elsewhere)."""
    from PIL import Image

    started = time.perf_counter()
    run = Path(run)
    layout = RunLayout(run)
    if not run.is_dir() or not (layout.config.is_file() or layout.samples.is_dir()):
        raise UserError(f"{run}: not a latentlab run directory (no config.toml or samples/)")
    if start is not None and stop is not None and start > stop:
        raise UserError(f"--from {start} is after --to {stop}")
    if not (hold_last >= 0 and hold_last <= 3600):  # also false for NaN
        raise UserError(f"--hold-last must be between 0 and 3600 seconds (got {hold_last})")
    if preset not in X264_PRESETS:
        raise UserError(f"--preset must be one of {', '.join(X264_PRESETS)} (got {preset!r})")
    grids = grid_files(run, start, stop)
    if not grids:
        span = "" if start is None and stop is None else f" between steps {start or 0} and {stop or 'the end'}"
        raise UserError(f"{run}: no sample grids{span} yet (samples/step-*.png); a run writes one every "
                        "train.sample_every steps")
    if check_output(out, fps) == "mp4" and crf is None:
        crf = TIMELAPSE_CRF
    try:
        with Image.open(grids[0][1]) as im:
            width, height = frame_size(im.width, im.height, size)
    except OSError as exc:
        raise UserError(f"{grids[0][1]}: cannot read the grid ({exc})") from None
    epochs = epochs_of(run, [s for s, _ in grids]) if label else {}
    hold = round(hold_last * fps)
    total = len(grids) + hold
    writer = open_writer(out, fps, (width, height), crf=crf, preset=preset)
    yuv = writer.accepts_yuv420 and (writer.width, writer.height) == (width, height)

    def frames():
        for step, path in grids:
            text = label_text(step, epochs.get(step)) if label else None
            try:
                yield grid_i420(path, (width, height), text) if yuv else np.asarray(
                    render_frame(path, (width, height), text))
            except OSError as exc:
                raise UserError(f"{run}: cannot read a sample grid ({exc})") from None

    done, last = 0, None

    def write(item) -> None:
        nonlocal done, last
        (writer.write_yuv420 if yuv else writer.write)(item)
        last = item
        done += 1
        if progress is not None:
            progress(done, total)

    with writer:
        if not pipeline(frames(), write, cancel=cancel, depth=QUEUE_FRAMES):
            writer.abort()
            return TimelapseResult(done, None, True, writer.width, writer.height, fps,
                                   time.perf_counter() - started, grids=min(done, len(grids)))
        for _ in range(hold):
            write(last)
    return TimelapseResult(done, writer.path, False, writer.width, writer.height, fps,
                           time.perf_counter() - started, grids=len(grids))

"""Decoding one image file into a uint8 (S, S, 3) array at the training resolution, with each crop.

Every odd input is either converted (grayscale, palette, CMYK, RGBA, 16-bit, EXIF-rotated) or
rejected with `BadImage` (truncated, not an image, too small, over the decompression-bomb limit);
the caller decides whether a rejection is skipped and counted or shown to the user.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from latentlab.config import UserError

CROPS = ("center", "celeba148", "lfw150", "none")
MIN_SIDE = 8  # shorter than this is a thumbnail or a tracking pixel, not a face


def resolve_crop(crop: str, dataset: str, arch: str) -> str:
    """The crop that "auto" means for a data set and an architecture (here, below both the cache and
    the alignment, which each need it)."""
    if crop != "auto":
        return crop
    if dataset == "lfw":
        return "lfw150"
    if dataset == "celeba" and arch == "vaegan":
        return "celeba148"
    return "center"


# Crop boxes as fractions of the image: the published crops are in pixels of the original layouts
# (CelebA aligned 178x218, LFW 250x250); fractions keep them right for rescaled copies.
_FRACTION_BOXES = {
    "celeba148": (15 / 178, 40 / 218, 163 / 178, 188 / 218),
    "lfw150": (50 / 250, 50 / 250, 200 / 250, 200 / 250),
}
_RESAMPLE = {"center": Image.BILINEAR, "none": Image.BILINEAR,
             "celeba148": Image.BICUBIC, "lfw150": Image.BICUBIC}


class BadImage(Exception):
    """A file that is not a usable image (the message says why)."""


def reason_kind(message: str) -> str:
    """The reason of a BadImage message without its particulars, for counting skips by reason."""
    text = message.lower()
    for prefix in ("too small", "too large", "unreadable archive member"):
        if text.startswith(prefix):
            return prefix
    if "cannot identify image" in text:
        return "not an image"
    if "truncated" in text or "broken" in text or "premature end" in text:
        return "truncated"
    return "damaged"


def _to_rgb(im: Image.Image, background: int) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is composited on a flat `background` grey level."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        arr = np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scale = 255.0 if hi <= 1.0 and lo >= 0.0 else 255.0 / max(hi - lo, 1e-12)
        off = 0.0 if hi <= 1.0 and lo >= 0.0 else lo
        arr = np.clip(np.nan_to_num((arr - off) * scale) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if (mode == "P" and "transparency" in im.info) or mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        base = Image.new("RGB", im.size, (background,) * 3)
        base.paste(im, mask=im.getchannel("A"))
        return base
    if mode != "RGB":
        return im.convert("RGB")
    return im


def crop_box(width: int, height: int, crop: str) -> tuple[float, float, float, float]:
    """The region of a (width, height) image that a crop keeps, in pixels (left, top, right, bottom)."""
    if crop == "center":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return left, top, left + side, top + side
    if crop == "none":
        return 0.0, 0.0, float(width), float(height)
    fx0, fy0, fx1, fy1 = _FRACTION_BOXES[crop]
    return fx0 * width, fy0 * height, fx1 * width, fy1 * height


def decode(source: str | os.PathLike | bytes, size: int, crop: str, *, background: int = 255) -> np.ndarray:
    """Decode a file path or its bytes into uint8 (size, size, 3); raises BadImage."""
    if crop not in CROPS:
        raise ValueError(f"unknown crop {crop!r}")
    try:
        fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
        with Image.open(fp) as im:
            w, h = im.size
            if min(w, h) < MIN_SIDE:
                raise BadImage(f"too small ({w}x{h})")
            # JPEG can decode straight to 1/2, 1/4 or 1/8 size: a 6000x4000 photo then costs little.
            # Ask for twice the pixels the cropped region needs, so the final resize still filters.
            x0, y0, x1, y1 = crop_box(w, h, crop)
            need = 2 * size / max(min((x1 - x0) / w, (y1 - y0) / h), 1e-6)
            im.draft("RGB", (math.ceil(need), math.ceil(need)))
            im.load()
            im = ImageOps.exif_transpose(im) or im
            im = _to_rgb(im, background)
            w, h = im.size
            if min(w, h) < MIN_SIDE:
                raise BadImage(f"too small ({w}x{h})")
            # Crop first, then resize: the filter must not reach past the crop (as torchvision does it).
            box = tuple(round(v) for v in crop_box(w, h, crop))
            if box != (0, 0, w, h):
                im = im.crop(box)
            out = im.resize((size, size), _RESAMPLE[crop], reducing_gap=3.0)
            arr = np.asarray(out, dtype=np.uint8)
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:
        raise BadImage(f"too large ({exc})") from None
    except MemoryError:
        raise BadImage("too large to decode") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for broken files; any is "unreadable"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadImage(reason) from None
    if arr.shape != (size, size, 3):
        raise BadImage(f"decoded to shape {arr.shape}")
    return arr


def load_photo(path: str | os.PathLike, image_size: int, crop: str = "center") -> np.ndarray:
    """A photo for encoding or display: uint8 (S, S, 3); UserError naming the file when unreadable."""
    path = Path(path)
    if crop == "auto":
        crop = "center"
    if crop not in CROPS:
        raise UserError(f"crop must be one of {', '.join(CROPS)} (got {crop!r})")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    try:
        return decode(path, int(image_size), crop)
    except BadImage as exc:
        raise UserError(f"{path}: cannot read image ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read image ({exc.strerror or exc})") from None

"""Images out of a generator: [-1, 1] tensors to uint8, cells tiled into one picture, PNGs written
atomically (the run directory's sample grids, and every other picture latentlab writes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latentlab.atomic import write_with
from latentlab.config import UserError


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3), contiguous, on the input's device (`.numpy()`
    after `.cpu()` for an array). Rounded, so a grid, a render and a video frame agree to the bit."""
    x = images.detach().float().clamp(-1, 1).add(1).mul_(127.5).round_().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous()


def tile(images: np.ndarray, rows: int | None = None, cols: int | None = None, pad: int = 2, fill: int = 255,
         border: bool = True) -> np.ndarray:
    """uint8 (N, H, W, 3) -> one picture, row-major, `pad` px of `fill` between cells (and around them
    with `border`). Without rows and cols: a near-square grid; with both, N must fill it exactly. Also
    takes (B, N, H, W, 3) and returns B pictures."""
    arr = np.asarray(images)
    batched = arr.ndim == 5
    if not batched:
        arr = arr[None]
    b, n, h, w, c = arr.shape
    if rows is not None and cols is not None:
        if n != rows * cols:
            raise UserError(f"tile: {n} images do not fill a {rows}x{cols} grid")
    else:
        cols = math.ceil(math.sqrt(n)) if rows is None else math.ceil(n / rows)
        rows = math.ceil(n / cols)
    edge = pad if border else 0
    out = np.full((b, rows * (h + pad) - pad + 2 * edge, cols * (w + pad) - pad + 2 * edge, c), fill, dtype=arr.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = edge + r * (h + pad), edge + q * (w + pad)
        out[:, y:y + h, x:x + w] = arr[:, i]
    return out if batched else out[0]


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write to a temporary file and rename, so a viewer never reads half a PNG."""
    # zlib level 1: a quarter of the default level's time for files about a fifth larger, since a run
    # writes a grid every few steps (enough for a timelapse of at least 100 frames)
    return write_with(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG", compress_level=1))


def save_grid(images: torch.Tensor, path: str | Path, rows: int | None = None) -> Path:
    return save_png(tile(to_uint8(images).cpu().numpy(), rows=rows), path)

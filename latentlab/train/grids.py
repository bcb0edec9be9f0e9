"""Image grids for the fixed-noise samples and reconstructions, written atomically as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latentlab.run.atomic import write_with


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def tile(images: np.ndarray, rows: int | None = None, pad: int = 2, fill: int = 255) -> np.ndarray:
    """(N, H, W, 3) uint8 -> one image with `rows` rows (default: a near-square grid)."""
    n, h, w, c = images.shape
    cols = math.ceil(math.sqrt(n)) if rows is None else math.ceil(n / rows)
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y:y + h, x:x + w] = images[i]
    return out


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write to a temporary file and rename, so a viewer never reads half a PNG."""
    return write_with(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"))


def save_grid(images: torch.Tensor, path: str | Path, rows: int | None = None) -> Path:
    return save_png(tile(to_uint8(images), rows=rows), path)

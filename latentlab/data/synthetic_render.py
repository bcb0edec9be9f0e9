"""Many synthetic faces at once, in either style (the cartoon of synthetic.py or its photographic
mode in synthetic_photo.py), in this process or in a helper process for the cache. Apart from both
styles because the photographic mode is built on the cartoon's face model: a module of either that
chose between them would import the other back."""

from __future__ import annotations

import numpy as np

from latentlab.data import synthetic, synthetic_photo

STYLES = ("cartoon", "photo")


def render_many(start: int, stop: int, size: int, style: str = "cartoon") -> tuple[np.ndarray, np.ndarray]:
    """Faces start..stop-1 as uint8 (n, size, size, 3) and their factors as float32 (n, F).
    style "photo": the photographic mode of the same faces (synthetic_photo.py)."""
    if style == "photo":
        render = synthetic_photo.render_photo
    elif style == "cartoon":
        render = synthetic.render_face
    else:
        raise ValueError(f"unknown synthetic style {style!r}")
    n = stop - start
    images = np.empty((n, size, size, 3), np.uint8)
    factors = np.empty((n, len(synthetic.FACTORS)), np.float32)
    for i in range(n):
        img, fac = render(start + i, size)
        images[i] = img
        factors[i] = [fac[k] for k in synthetic.FACTORS]
    return images, factors


def _render_to_file(start: int, stop: int, size: int, path: str, style: str = "cartoon") -> None:
    """Helper-process entry: faces start..stop-1 as raw uint8 rows then float32 factors, into `path`.

    Prints the number of faces done after each chunk, so the parent can show progress.
    """
    import sys

    factors = np.empty((stop - start, len(synthetic.FACTORS)), np.float32)
    with open(path, "wb") as f:
        for lo in range(start, stop, 64):
            hi = min(stop, lo + 64)
            images, factors[lo - start:hi - start] = render_many(lo, hi, size, style)
            f.write(images.tobytes())
            print(hi - start, flush=True)
        f.write(factors.tobytes())
    sys.stdout.flush()

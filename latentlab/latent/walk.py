"""Latent walks: keyframes joined by interpolated segments (docs/algorithms.md §4)."""

from __future__ import annotations

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.latent.interp import EASINGS, INTERPOLATIONS, seed_latent


def walk_length(n_keyframes: int, frames_per_segment: int, loop: bool = False) -> int:
    """Frames in a walk: (K − 1)·n + 1 (the last frame is the last keyframe), or K·n with loop (the
    frame after the last would be keyframe 0 again, so the video repeats seamlessly)."""
    return n_keyframes * frames_per_segment if loop else (n_keyframes - 1) * frames_per_segment + 1


def _check(n_keyframes: int, frames_per_segment: int, interp: str, ease: str) -> None:
    if n_keyframes < 1:
        raise UserError("a walk needs at least one keyframe")
    if int(frames_per_segment) != frames_per_segment or frames_per_segment < 1:
        raise UserError(f"frames per segment must be a whole number of at least 1 (got {frames_per_segment})")
    if interp not in INTERPOLATIONS:
        raise UserError(f"unknown interpolation {interp!r}: use {' or '.join(INTERPOLATIONS)}")
    if ease not in EASINGS:
        raise UserError(f"unknown easing {ease!r}: use {', '.join(EASINGS)}")


def walk_path(keyframes, frames_per_segment: int, interp: str = "slerp", ease: str = "linear",
              loop: bool = False):
    """The latents of a walk through `keyframes` (K, nz) → (F, nz), F = walk_length(K, n, loop).

    Frame j·n is keyframe j exactly (copied, not recomputed); between them each segment runs
    t = 0, 1/n, …, (n−1)/n through the easing and then lerp/slerp. With loop the last segment goes
    from keyframe K−1 back toward keyframe 0. Returns the same kind (numpy/torch) as `keyframes`.
    Keyframes may also be (K, W, nz) for W parallel walks (see grid_walks)."""
    n_kf = int(keyframes.shape[0]) if hasattr(keyframes, "shape") else len(keyframes)
    return walk_slice(keyframes, frames_per_segment, interp, ease, loop, 0,
                      walk_length(max(n_kf, 1), max(int(frames_per_segment), 1), loop))


def walk_slice(keyframes, frames_per_segment: int, interp: str = "slerp", ease: str = "linear",
               loop: bool = False, start: int = 0, stop: int | None = None):
    """Frames [start, stop) of walk_path(...), computed without the rest (long videos, batches)."""
    as_torch = isinstance(keyframes, torch.Tensor)
    kf = keyframes if as_torch else np.asarray(keyframes, dtype=np.float32)
    if kf.ndim < 2:
        raise UserError(f"keyframes must be shaped (K, latent_dim) (got shape {tuple(kf.shape)})")
    n_kf = kf.shape[0]
    _check(n_kf, frames_per_segment, interp, ease)
    n = int(frames_per_segment)
    total = walk_length(n_kf, n, loop)
    stop = total if stop is None else min(stop, total)
    f = np.arange(max(0, start), max(start, stop))
    last_segment = n_kf - 1 if loop else n_kf - 2
    seg = np.minimum(f // n, max(last_segment, 0))
    nxt = (seg + 1) % n_kf
    t = EASINGS[ease]((f - seg * n) / n)
    t = t.reshape(t.shape + (1,) * (kf.ndim - 2))  # interpolate() adds the trailing latent axis
    if as_torch:
        seg, nxt = torch.as_tensor(seg), torch.as_tensor(nxt)
    out = INTERPOLATIONS[interp](kf[seg], kf[nxt], t)
    hits = np.nonzero(f % n == 0)[0]  # frames j·n: copy keyframe j exactly
    if len(hits):
        src = f[hits] // n
        if as_torch:
            hits, src = torch.as_tensor(hits), torch.as_tensor(src)
        out[hits] = kf[src]
    return out


def grid_walks(keyframes, frames_per_segment: int, interp: str = "slerp", ease: str = "linear",
               loop: bool = False):
    """W independent walks at once: keyframes (W, K, nz) → (F, W, nz); cell w of frame f is
    walk_path(keyframes[w], ...)[f]."""
    kf = keyframes if isinstance(keyframes, torch.Tensor) else np.asarray(keyframes, dtype=np.float32)
    if kf.ndim != 3:
        raise UserError(f"grid keyframes must be shaped (cells, K, latent_dim) (got shape {tuple(kf.shape)})")
    swapped = kf.transpose(0, 1) if isinstance(kf, torch.Tensor) else kf.transpose(1, 0, 2)
    return walk_path(swapped, frames_per_segment, interp, ease, loop)


def grid_keyframes(rows: int, cols: int, n_keyframes: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """Random keyframes for a rows×cols grid walk, float32 (rows·cols, K, nz), cells in row-major
    order. Keyframe i of cell w is seed_latent(seed + w·K + i), so a 1×1 grid is
    random_keyframes(K, nz, seed)."""
    if rows < 1 or cols < 1:
        raise UserError(f"a grid needs at least one row and one column (got {rows}x{cols})")
    if n_keyframes < 1:
        raise UserError(f"the number of keyframes must be at least 1 (got {n_keyframes})")
    cells = rows * cols
    return np.stack([
        np.stack([seed_latent(seed + w * n_keyframes + i, latent_dim) for i in range(n_keyframes)])
        for w in range(cells)
    ])


def parse_grid(grid) -> tuple[int, int]:
    """(R, C), [R, C] or "RxC" -> (R, C)."""
    if isinstance(grid, str):
        parts = grid.lower().replace("×", "x").split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise UserError(f"grid must look like 3x4 (got {grid!r})")
        grid = (int(parts[0]), int(parts[1]))
    rows, cols = (int(v) for v in grid)
    if rows < 1 or cols < 1:
        raise UserError(f"grid needs at least 1 row and 1 column (got {rows}x{cols})")
    return rows, cols


def parse_seeds(seeds) -> list[int]:
    """[1, 2, 3] or "1,2,3" -> [1, 2, 3]."""
    items = seeds.split(",") if isinstance(seeds, str) else list(seeds)
    try:
        out = [int(str(v).strip()) for v in items if str(v).strip() != ""]
    except ValueError:
        raise UserError(f"seeds must be whole numbers separated by commas (got {seeds!r})") from None
    if not out or min(out) < 0:
        raise UserError(f"seeds must be one or more whole numbers of 0 or more (got {seeds!r})")
    return out


def walk_keyframes(latent_dim: int, *, keyframes=None, n_keyframes: int = 4, seeds=None, latents_file=None,
                   cells: int = 1, seed: int = 0) -> np.ndarray:
    """Keyframes for `cells` walks, float32 (cells, K, nz), from whichever single source is given:
    an array (K, nz) or (cells, K, nz); seeds (list or "1,2,3"); a bookmarks file; or else
    n_keyframes random ones per cell (grid_keyframes). UserError for conflicting or bad sources."""
    from latentlab.latent.bookmarks import load_bookmarks

    nz = latent_dim
    given = [name for name, v in (("keyframes", keyframes), ("seeds", seeds), ("latents", latents_file))
             if v is not None]
    if len(given) > 1:
        raise UserError(f"give one keyframe source, not {' and '.join(given)}")
    if given and cells > 1 and not (keyframes is not None and np.ndim(keyframes) == 3):
        raise UserError(f"a grid walk needs independent random keyframes (--keyframes N); {given[0]} give one walk")
    if keyframes is not None:
        kf = np.asarray(keyframes, dtype=np.float32)
        kf = kf[None] if kf.ndim == 2 else kf
        if kf.ndim != 3 or kf.shape[0] != cells or kf.shape[2] != nz or kf.shape[1] < 1:
            raise UserError(f"keyframes must be shaped (K, {nz}) or ({cells}, K, {nz}) (got {np.shape(keyframes)})")
    elif seeds is not None:
        kf = np.stack([seed_latent(s, nz) for s in parse_seeds(seeds)])[None]
    elif latents_file is not None:
        marks = load_bookmarks(latents_file, latent_dim=nz)
        if not marks:
            raise UserError(f"{latents_file}: holds no bookmarks to walk through")
        kf = np.stack([m.z for m in marks])[None]
    else:
        if int(n_keyframes) < 1:
            raise UserError(f"the number of keyframes must be at least 1 (got {n_keyframes})")
        kf = grid_keyframes(1, cells, int(n_keyframes), nz, seed)
    if not np.isfinite(kf).all():
        raise UserError("keyframes contain NaN or infinite values")
    return kf

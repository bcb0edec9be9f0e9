"""Interpolation, truncation, easing and seeded latents (docs/algorithms.md §4).

Every function accepts numpy arrays or torch tensors and returns the same kind it was given. The
maths runs in float64 (torch) so slerp stays accurate near Ω ≈ 0 and Ω ≈ π, then is cast back to the
input's floating dtype (float32 for integer input).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.latent.choices import EASING_NAMES, INTERPOLATION_NAMES

# Below this angle sin Ω is too small to divide by: the endpoints are parallel (lerp is exact to
# within float error there) or antipodal (the great circle is not unique; see _antipodal_axis).
_OMEGA_EPS = 1e-4

_NP_TO_TORCH = {np.float16: torch.float16, np.float32: torch.float32, np.float64: torch.float64}


def _float_dtype(arr: np.ndarray):
    return arr.dtype if arr.dtype.type in _NP_TO_TORCH else np.float32


def _to_torch(x) -> tuple[torch.Tensor, bool, torch.dtype]:
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float32
        return x.to(torch.float64), False, dtype
    arr = np.asarray(x)
    dtype = _NP_TO_TORCH.get(arr.dtype.type, torch.float32)
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)), True, dtype


def _back(x: torch.Tensor, as_numpy: bool, dtype: torch.dtype, like=None):
    if like is not None:
        x = x.to(like.device)
    x = x.to(dtype)
    return x.numpy() if as_numpy else x


def _t_column(t, ref: torch.Tensor) -> torch.Tensor:
    """t as a tensor with a trailing axis, so a scalar, (T,) or (N,) t broadcasts over (..., nz)."""
    tt = t if isinstance(t, torch.Tensor) else torch.as_tensor(np.asarray(t, dtype=np.float64))
    return tt.to(torch.float64).to(ref.device).unsqueeze(-1)


def lerp(a, b, t):
    """(1 − t)·a + t·b. a, b: (..., nz); t: a scalar or an array whose shape broadcasts against a's
    leading axes (e.g. t of shape (T,) with a, b of shape (nz,) gives (T, nz))."""
    ta, as_np, dtype = _to_torch(a)
    tb, _, _ = _to_torch(b)
    tt = _t_column(t, ta)
    return _back((1 - tt) * ta + tt * tb, as_np, dtype, a if isinstance(a, torch.Tensor) else None)


def _antipodal_axis(u: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to each unit row of u, chosen deterministically: Gram-Schmidt of the
    basis vector along u's smallest component (never close to parallel to u)."""
    idx = u.abs().argmin(dim=-1, keepdim=True)
    e = torch.zeros_like(u).scatter_(-1, idx, 1.0)
    w = e - (e * u).sum(-1, keepdim=True) * u
    return w / w.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def slerp(a, b, t):
    """Spherical interpolation: sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, Ω the angle between a and b.

    Shapes as in `lerp`. Where Ω ≈ 0 it is lerp (the formula's limit). Where Ω ≈ π (b ≈ −a) the
    great circle is not unique: the path turns through a fixed axis orthogonal to a, with the norm
    going linearly from ‖a‖ to ‖b‖, so it still starts at a and ends at b. A zero endpoint also
    falls back to lerp (its direction is undefined)."""
    ta, as_np, dtype = _to_torch(a)
    tb, _, _ = _to_torch(b)
    ta, tb = torch.broadcast_tensors(ta, tb)
    tt = _t_column(t, ta)
    na = ta.norm(dim=-1, keepdim=True)
    nb = tb.norm(dim=-1, keepdim=True)
    degenerate = (na < 1e-12) | (nb < 1e-12)
    ua = ta / na.clamp_min(1e-12)
    ub = tb / nb.clamp_min(1e-12)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    safe_sin = torch.where(sin < 1e-12, torch.ones_like(sin), sin)
    out = (torch.sin((1 - tt) * omega) * ta + torch.sin(tt * omega) * tb) / safe_sin
    linear = (1 - tt) * ta + tt * tb
    near_zero = (omega < _OMEGA_EPS) | degenerate
    near_pi = (omega > math.pi - _OMEGA_EPS) & ~degenerate
    out = torch.where(near_zero, linear, out)
    if bool(near_pi.any()):
        axis = _antipodal_axis(ua)
        angle = tt * math.pi
        radius = (1 - tt) * na + tt * nb
        turned = (torch.cos(angle) * ua + torch.sin(angle) * axis) * radius
        out = torch.where(near_pi, turned, out)
    return _back(out, as_np, dtype, a if isinstance(a, torch.Tensor) else None)


INTERPOLATIONS: dict[str, Callable] = {"slerp": slerp, "lerp": lerp}


def interpolate(name: str, a, b, t):
    """lerp or slerp by name (UserError for any other name)."""
    if name not in INTERPOLATIONS:
        raise UserError(f"unknown interpolation {name!r}: use slerp or lerp")
    return INTERPOLATIONS[name](a, b, t)


def truncate(z, psi: float, mode: str = "rescale"):
    """Pull z toward the mean (0) by ψ ∈ (0, 1]; ψ = 1 returns z unchanged.

    rescale: ψ·z (the truncation trick with the mean latent at 0).
    clip: each coordinate clamped to ±τ with τ the (1+ψ)/2 quantile of N(0, 1), i.e. the central
    fraction ψ of a standard normal's mass is left untouched (ψ = 0.9 clips at ±1.645).
    """
    psi = float(psi)
    if not (0.0 < psi <= 1.0) or math.isnan(psi):
        raise UserError(f"truncation psi must be in (0, 1] (got {psi})")
    if mode not in ("rescale", "clip"):
        raise UserError(f"unknown truncation mode {mode!r}: use rescale or clip")
    if psi == 1.0:
        return z
    tau = NormalDist().inv_cdf(0.5 + psi / 2)
    if isinstance(z, torch.Tensor):
        return z * psi if mode == "rescale" else z.clamp(-tau, tau)
    arr = np.asarray(z)
    out = arr * psi if mode == "rescale" else np.clip(arr, -tau, tau)
    return out.astype(_float_dtype(arr), copy=False)


# -- easing: maps segment time t ∈ [0, 1] onto [0, 1] with fixed ends ------------------------------
def ease_linear(t):
    return t


def ease_smooth(t):
    """Smoothstep 3t² − 2t³: zero velocity at each keyframe, so a walk lingers on them."""
    return t * t * (3 - 2 * t)


def ease_cosine(t):
    """(1 − cos πt)/2: like smoothstep, a slightly gentler start and stop."""
    if isinstance(t, torch.Tensor):
        return (1 - torch.cos(math.pi * t)) / 2
    return (1 - np.cos(np.pi * np.asarray(t, dtype=np.float64))) / 2


EASINGS: dict[str, Callable] = {"linear": ease_linear, "smooth": ease_smooth, "cosine": ease_cosine}
assert tuple(EASINGS) == EASING_NAMES and tuple(INTERPOLATIONS) == INTERPOLATION_NAMES


def ease(name: str, t):
    """Apply the easing `name` (linear, smooth, cosine) to t."""
    if name not in EASINGS:
        raise UserError(f"unknown easing {name!r}: use {', '.join(EASINGS)}")
    return EASINGS[name](t)


# -- seeded latents -------------------------------------------------------------------------------
def seed_latent(seed: int, latent_dim: int) -> np.ndarray:
    """The latent of a seed: float32 (latent_dim,) = torch.randn(latent_dim) from a CPU
    torch.Generator seeded with `seed`. The GUI's Randomize, the CLI's --seeds and random keyframes
    all go through here, so one seed is one face everywhere (for one checkpoint)."""
    seed = int(seed)
    if seed < 0:
        raise UserError(f"seeds must be 0 or more (got {seed})")
    if latent_dim < 1:
        raise UserError(f"latent_dim must be at least 1 (got {latent_dim})")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn(latent_dim, generator=gen, dtype=torch.float32).numpy()


def random_keyframes(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """n keyframes, float32 (n, latent_dim); keyframe i is seed_latent(seed + i, latent_dim)."""
    if n < 1:
        raise UserError(f"the number of keyframes must be at least 1 (got {n})")
    return np.stack([seed_latent(seed + i, latent_dim) for i in range(n)])

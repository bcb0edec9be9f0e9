"""Reconstruction figures from arrays of inputs and their reconstructions (no model, no Qt).

Images are uint8 (N, S, S, 3) or float (N, 3, S, S) in [-1, 1]; both are compared on the 0-255 scale.
- mae: mean absolute pixel error, as a fraction of 255
- identity: the share of reconstructions nearer (pixel L2) to their own input than to any other input
- high_frequency_ratio: the spectral energy above a radial frequency cutoff of the reconstructions over
  that of the inputs. Speckle and checkerboard patterns (Odena et al. 2016) put energy near the
  Nyquist frequency, so they push the ratio above 1; blur pulls it below 1.
"""

from __future__ import annotations

import numpy as np
import torch

HF_CUTOFF = 0.25  # cycles per pixel: half the Nyquist frequency


def as_uint8_scale(images) -> np.ndarray:
    """float64 (N, S, S, 3) on the 0-255 scale from uint8 NHWC or float NCHW in [-1, 1]."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return a.astype(np.float64)
    if a.ndim != 4 or a.shape[1] != 3:
        raise ValueError(f"float images must be (N, 3, S, S) in [-1, 1]; got {a.shape}")
    return (np.clip(a.transpose(0, 2, 3, 1).astype(np.float64), -1, 1) + 1.0) * 127.5


def mae(inputs, recons) -> float:
    return float(np.abs(as_uint8_scale(inputs) - as_uint8_scale(recons)).mean() / 255.0)


def identity(inputs, recons) -> float:
    x = torch.from_numpy(as_uint8_scale(inputs).reshape(len(inputs), -1))
    r = torch.from_numpy(as_uint8_scale(recons).reshape(len(recons), -1))
    nearest = torch.cdist(r, x).argmin(dim=1)
    return float((nearest == torch.arange(len(x))).double().mean())


def high_frequency_energy(images, cutoff: float = HF_CUTOFF) -> float:
    """Mean power per image above `cutoff` cycles/pixel of each channel's 2-D spectrum."""
    a = as_uint8_scale(images)
    a = a - a.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(a, axes=(1, 2))) ** 2
    fy = np.fft.fftfreq(a.shape[1])[:, None]
    fx = np.fft.fftfreq(a.shape[2])[None, :]
    mask = np.sqrt(fy ** 2 + fx ** 2) > cutoff
    return float(power[:, mask, :].sum() / len(a))


def high_frequency_ratio(inputs, recons, cutoff: float = HF_CUTOFF) -> float:
    """HF energy of the reconstructions / that of the inputs: 1 is faithful, >1 speckle, <1 blur."""
    return high_frequency_energy(recons, cutoff) / max(high_frequency_energy(inputs, cutoff), 1e-12)


def reconstruction_figures(inputs, recons) -> dict[str, float]:
    return {"mae": mae(inputs, recons), "identity": identity(inputs, recons),
            "hf_ratio": high_frequency_ratio(inputs, recons)}

"""Helpers shared by the architectures: latent reshaping, the DCGAN initialisation, parameter counts."""

from __future__ import annotations

import copy

import torch
from torch import nn


def latent_vector(z: torch.Tensor, latent_dim: int) -> torch.Tensor:
    """Return z as (N, latent_dim), accepting the DCGAN example's (N, latent_dim, 1, 1) as well."""
    if z.dim() == 4 and z.shape[2] == 1 and z.shape[3] == 1:
        z = z.flatten(1)
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must be shaped (N, {latent_dim}) or (N, {latent_dim}, 1, 1); got {tuple(z.shape)}")
    return z


def dcgan_init_(module: nn.Module) -> None:
    """Radford et al. 2016, section 3: every weight from N(0, 0.02); batch-norm scale N(1, 0.02), shift 0.

    The scale is drawn around 1, as the PyTorch DCGAN example does, since a zero-mean scale would
    start every batch-norm layer almost switched off.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers such as batch-norm running statistics are not counted)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def eval_module(module: nn.Module) -> nn.Module:
    """`module` when it is in eval mode, else an eval copy of it: a module still in training mode may
    be the live one of a running Trainer, and running it would update its BatchNorm statistics under
    the trainer's feet."""
    return copy.deepcopy(module).eval() if module.training else module


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1], the range every network here
    takes: x / 127.5 - 1 (data/feeder.py's fast path multiplies by 2/255 instead)."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    return images.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)

"""Analytic forward cost of the networks: 2 x multiply-adds of every convolution, transposed
convolution and linear layer, per image. Batch norm, activations, pooling and bias adds are left
out (they are a few percent at most and are memory-bound, not matmul work).

The counts come from each layer's shapes, traced on the meta device (no memory, no compute, and
torch's RNG is untouched), so they follow the architecture code and cannot drift from it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def layer_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-adds of one layer for the whole batch of `inp` (0 for layers without weights)."""
    if isinstance(module, nn.Conv2d):
        k = math.prod(module.kernel_size)
        return out.numel() * (module.in_channels // module.groups) * k
    if isinstance(module, nn.ConvTranspose2d):
        # every input element is scattered onto k*k positions of each output channel
        k = math.prod(module.kernel_size)
        return inp.numel() * (module.out_channels // module.groups) * k
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def forward_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs (2 x MACs) of one forward pass per sample; input_shape excludes the batch dimension.

    The module must live on the meta device or be cheap to run; it is run in eval mode on a batch of
    two (batch norm over a batch of one is refused in training mode) and left in the mode it had.
    """
    total = 0

    def hook(mod: nn.Module, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += layer_macs(mod, args[0], out)

    device = next(module.parameters()).device
    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros((2, *input_shape), device=device))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    macs_per_sample = total // 2
    return 2 * macs_per_sample

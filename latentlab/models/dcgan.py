"""DCGAN (Radford, Metz & Chintala 2016, "Unsupervised representation learning with deep
convolutional generative adversarial networks"), laid out as in docs/algorithms.md section 1.

Both networks keep the PyTorch DCGAN example's layout, a single `main` nn.Sequential, so a netG
trained with that example loads by key (see dcgan_import.py). 64 px has five transposed
convolutions; each doubling of the image size adds one stage and widens the first layer by two.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.models.common import dcgan_init_, latent_vector

STAGES = {32: 4, 64: 5, 128: 6}  # (transposed) convolutions per network at each image size


def generator_layers(latent_dim: int, width: int, stages: int) -> list[nn.Module]:
    """ConvT(nz, top, 4, 1, 0) + BN + ReLU, then halving ConvT(4, 2, 1) stages down to `width`, then
    ConvT(width, 3) + Tanh. With stages=5 this is exactly the example's netG (main.0 ... main.13)."""
    channels = width * 2 ** (stages - 2)
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(latent_dim, channels, 4, 1, 0, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    ]
    for _ in range(stages - 2):
        layers += [
            nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(channels // 2),
            nn.ReLU(inplace=True),
        ]
        channels //= 2
    layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1, bias=False), nn.Tanh()]
    return layers


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) or (N, latent_dim, 1, 1) -> images (N, 3, S, S) in [-1, 1]."""

    arch = "dcgan"

    def __init__(self, latent_dim: int = 100, image_size: int = 64, width: int = 64, init: bool = True):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.main = nn.Sequential(*generator_layers(latent_dim, width, STAGES[image_size]))
        if init:
            dcgan_init_(self)

    def _z(self, z: torch.Tensor) -> torch.Tensor:
        return latent_vector(z, self.latent_dim)[:, :, None, None]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(self._z(z))

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """The first block's activations (ConvT + BN + ReLU, a 4x4 map), flattened per sample."""
        return self.main[:3](self._z(z)).flatten(1)


class DCGANDiscriminator(nn.Module):
    """images (N, 3, S, S) -> logits (N,).

    The paper's final Sigmoid is folded into the loss (BCE-with-logits): the same function, but
    numerically safe when D is confident and allowed under bf16 autocast. sigmoid(D(x)) is the
    paper's D(x).
    """

    arch = "dcgan"

    def __init__(self, image_size: int = 64, width: int = 64, init: bool = True):
        super().__init__()
        self.image_size = image_size
        stages = STAGES[image_size]
        channels = width
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(stages - 2):
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
        layers.append(nn.Conv2d(channels, 1, 4, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)
        if init:
            dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).reshape(x.shape[0])

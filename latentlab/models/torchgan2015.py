"""The 2015 Torch face GAN (Larsen & Sønderby 2015, "Generating faces with Torch"; code
skaae/torch-gan, itself based on Denton et al.'s eyescream), laid out as in docs/algorithms.md section 2.
64 px only, as in the original.

Initialisation: PyTorch's defaults, i.e. weights and biases uniform in ±1/sqrt(fan_in), which is
exactly Torch7's `reset()` for nn.SpatialConvolution and nn.Linear, what the original code used.
Batch-norm starts at scale 1, shift 0 (PyTorch's default).
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.models.common import latent_vector


class Torch2015Generator(nn.Module):
    """z -> Linear(z, g*8*8) -> ReLU -> 3 x [nearest upsample x2 -> Conv5x5 -> BN -> ReLU] at 2g, 2g, g
    -> Conv3x3(g, 3) [-> Tanh]. g = 128 in the original. Without Tanh (the original's choice) the
    output is unbounded; the 2015 code clipped it with HardTanh only for display."""

    arch = "torchgan2015"

    def __init__(self, latent_dim: int = 100, width: int = 128, tanh: bool = False):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = 64
        self.width = width
        self.fc = nn.Linear(latent_dim, width * 8 * 8)
        layers: list[nn.Module] = []
        for c_in, c_out in ((width, 2 * width), (2 * width, 2 * width), (2 * width, width)):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c_in, c_out, 5, 1, 2),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(width, 3, 3, 1, 1))
        if tanh:
            layers.append(nn.Tanh())
        self.body = nn.Sequential(*layers)

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """The first block's activations: ReLU(Linear(z)), (N, g*8*8)."""
        return torch.relu(self.fc(latent_vector(z, self.latent_dim)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.early_features(z)
        return self.body(h.view(h.shape[0], self.width, 8, 8))


class Torch2015Discriminator(nn.Module):
    """images (N, 3, 64, 64) -> logits (N,). No batch norm: in 2015 it made D too strong.

    Kept from the original: in the third block ReLU comes before MaxPool (the first two pool
    first); the result is the same since max-pooling commutes with ReLU, but the order is the
    listing's. Dropout2d is Torch's SpatialDropout (whole feature maps dropped). The final Sigmoid
    is folded into the loss (BCE-with-logits); sigmoid(D(x)) is the original's output.
    """

    arch = "torchgan2015"
    hidden = 1024

    def __init__(self, width: int = 32):
        super().__init__()
        self.image_size = 64
        d1, d2, d3 = width, 2 * width, 3 * width
        self.convs = nn.Sequential(
            nn.Conv2d(3, d1, 5, 1, 2), nn.MaxPool2d(2), nn.ReLU(inplace=True), nn.Dropout2d(0.2),
            nn.Conv2d(d1, d2, 5, 1, 2), nn.MaxPool2d(2), nn.ReLU(inplace=True), nn.Dropout2d(0.2),
            nn.Conv2d(d2, d3, 5, 1, 2), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout2d(0.2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(8 * 8 * d3, self.hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(self.hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.convs(x)).reshape(x.shape[0])

"""VAE/GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned
similarity metric"; code andersbll/autoencoding_beyond_pixels), laid out as in ALGORITHMS.md
section 3. 64 px as in the paper; the 32 px variant (the original code's img32x32 shape) starts the
decoder from 4x4 and ends the encoder and discriminator at 4x4, with the same widths.

As in that code, layers followed by batch norm have no bias (the norm's shift replaces it).
Initialisation: PyTorch's defaults (uniform in ±1/sqrt(fan_in); batch-norm scale 1, shift 0), a
fan-in-scaled filler like the original's deeppy AutoFiller.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.models.common import latent_vector

SIZES = (32, 64)


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 5, 2, 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    # padding 2 + output_padding 1 makes the 5x5 stride-2 transposed conv exactly double the size
    return [nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class VAEGANEncoder(nn.Module):
    """x (N, 3, S, S) -> (mu, logvar), each (N, latent_dim).

    Conv5x5 stride 2 at e, 2e, 4e (64, 128, 256), each BN + ReLU -> Linear 16e (1024) + BN + ReLU ->
    two linear heads for mu and log sigma^2. z = mu + sigma * eps is the caller's job.
    """

    arch = "vaegan"

    def __init__(self, latent_dim: int = 128, image_size: int = 64, width: int = 64):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = image_size
        side = image_size // 8
        hidden = 16 * width
        self.body = nn.Sequential(
            *_down(3, width), *_down(width, 2 * width), *_down(2 * width, 4 * width),
            nn.Flatten(),
            nn.Linear(4 * width * side * side, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        )
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class VAEGANDecoder(nn.Module):
    """The decoder, which is also the generator: z -> images (N, 3, S, S) in [-1, 1].

    Linear(z, 8g*s*s) + BN + ReLU (s = S/8) -> ConvT5x5 stride 2 at 8g, 4g, g (256, 128, 32), each
    BN + ReLU -> Conv5x5(g, 3) -> Tanh.
    """

    arch = "vaegan"

    def __init__(self, latent_dim: int = 128, image_size: int = 64, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.side = image_size // 8
        self.top = 8 * width
        n = self.top * self.side * self.side
        self.fc = nn.Sequential(nn.Linear(latent_dim, n, bias=False), nn.BatchNorm1d(n), nn.ReLU(inplace=True))
        self.body = nn.Sequential(
            *_up(8 * width, 8 * width), *_up(8 * width, 4 * width), *_up(4 * width, width),
            nn.Conv2d(width, 3, 5, 1, 2), nn.Tanh(),
        )

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """The first block's activations: ReLU(BN(Linear(z))), (N, 8g*s*s)."""
        return self.fc(latent_vector(z, self.latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.early_features(z)
        return self.body(h.view(h.shape[0], self.top, self.side, self.side))


class VAEGANDiscriminator(nn.Module):
    """images (N, 3, S, S) -> logits (N,); forward_features also returns Dis_l.

    Conv5x5 d (32) + ReLU -> Conv5x5 stride 2 at 4d, 8d, 8d (128, 256, 256), each BN + ReLU ->
    Linear 16d (512) + BN + ReLU -> Linear 1. Dis_l(x), the learned similarity metric, is the output
    of the 4th convolution before its batch norm: (N, 8d, S/8, S/8). The paper's final Sigmoid is
    folded into the loss (BCE-with-logits); sigmoid(D(x)) is the paper's D(x).
    """

    arch = "vaegan"

    def __init__(self, image_size: int = 64, width: int = 32):
        super().__init__()
        self.image_size = image_size
        side = image_size // 8
        d = width
        self.conv1 = nn.Conv2d(3, d, 5, 1, 2)
        self.conv2 = nn.Conv2d(d, 4 * d, 5, 2, 2, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * d)
        self.conv3 = nn.Conv2d(4 * d, 8 * d, 5, 2, 2, bias=False)
        self.bn3 = nn.BatchNorm2d(8 * d)
        self.conv4 = nn.Conv2d(8 * d, 8 * d, 5, 2, 2, bias=False)
        self.bn4 = nn.BatchNorm2d(8 * d)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(8 * d * side * side, 16 * d, bias=False), nn.BatchNorm1d(16 * d), nn.ReLU(inplace=True),
            nn.Linear(16 * d, 1),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Dis_l(x): the 4th conv's output, before its batch norm."""
        h = torch.relu(self.conv1(x))
        h = torch.relu(self.bn2(self.conv2(h)))
        h = torch.relu(self.bn3(self.conv3(h)))
        return self.conv4(h)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.features(x)
        logits = self.head(torch.relu(self.bn4(feats)))
        return logits.reshape(x.shape[0]), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

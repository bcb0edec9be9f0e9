"""VAE/GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned
similarity metric"; code andersbll/autoencoding_beyond_pixels), laid out as in docs/algorithms.md
section 3. 64 px as in the paper; the 32 px variant (the original code's img32x32 shape) starts the
decoder from 4x4 and ends the encoder and discriminator at 4x4, with the same widths.

As in that code, layers followed by batch norm have no bias (the norm's shift replaces it).
Initialisation: PyTorch's defaults (uniform in ±1/sqrt(fan_in); batch-norm scale 1, shift 0), a
fan-in-scaled filler like the original's deeppy AutoFiller.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.config import VAE_UPSAMPLINGS
from latentlab.models.common import latent_vector

# The decoder's 2x upsampling. convT5 is the paper's ConvTranspose 5x5 stride 2; its kernel is not
# divisible by the stride, so output pixels get uneven numbers of taps (checkerboard artifacts,
# Odena, Dumoulin & Olah 2016, "Deconvolution and checkerboard artifacts"). convT4 divides evenly;
# resize (nearest-neighbour x2, then a 3x3 convolution) cannot make the pattern at all.
UPSAMPLINGS = VAE_UPSAMPLINGS


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 5, 2, 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def _up(c_in: int, c_out: int, mode: str = "convT5") -> list[nn.Module]:
    if mode == "convT5":  # padding 2 + output_padding 1 makes it exactly double the size
        layers = [nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=1, bias=False)]
    elif mode == "convT4":
        layers = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    elif mode == "resize":
        layers = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]
    else:
        raise ValueError(f"upsampling must be one of {', '.join(UPSAMPLINGS)} (got {mode!r})")
    return [*layers, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


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
    BN + ReLU -> Conv5x5(g, 3) -> Tanh. `upsample` swaps the three ConvT5x5 (see UPSAMPLINGS).
    """

    arch = "vaegan"

    def __init__(self, latent_dim: int = 128, image_size: int = 64, width: int = 32, upsample: str = "convT5"):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.upsample = upsample
        self.side = image_size // 8
        self.top = 8 * width
        n = self.top * self.side * self.side
        self.fc = nn.Sequential(nn.Linear(latent_dim, n, bias=False), nn.BatchNorm1d(n), nn.ReLU(inplace=True))
        self.body = nn.Sequential(
            *_up(8 * width, 8 * width, upsample), *_up(8 * width, 4 * width, upsample),
            *_up(4 * width, width, upsample),
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
    of the 4th convolution before its batch norm: (N, 8d, S/8, S/8); `layer` picks another
    convolution's output instead (1: before its ReLU, 2-3: before their batch norm). The paper's final
    Sigmoid is folded into the loss (BCE-with-logits); sigmoid(D(x)) is the paper's D(x).
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

    def _convs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each convolution's output before its nonlinearity (and batch norm)."""
        outs = [self.conv1(x)]
        for conv, bn in ((self.conv2, None), (self.conv3, self.bn2), (self.conv4, self.bn3)):
            h = torch.relu(outs[-1] if bn is None else bn(outs[-1]))
            outs.append(conv(h))
        return outs

    def features(self, x: torch.Tensor, layer: int = 4) -> torch.Tensor:
        """Dis_l(x): by default the 4th conv's output, before its batch norm."""
        return self._convs(x)[layer - 1]

    def forward_features(self, x: torch.Tensor, layer: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
        outs = self._convs(x)
        logits = self.head(torch.relu(self.bn4(outs[-1])))
        return logits.reshape(x.shape[0]), outs[layer - 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

"""Analytic FLOP counts against hand counts for tiny configurations."""

import torch

from latentlab.config import ModelConfig
from latentlab.models import discriminator_flops, encoder_flops, generator_flops


def test_dcgan_32_hand_count():
    cfg = ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=2, d_width=2)
    # G, transposed convs: input elements x out channels x 16 taps
    g_macs = (
        8 * 1 * 1 * 8 * 16       # ConvT(8 -> 8) on 1x1
        + 8 * 4 * 4 * 4 * 16     # ConvT(8 -> 4) on 4x4
        + 4 * 8 * 8 * 2 * 16     # ConvT(4 -> 2) on 8x8
        + 2 * 16 * 16 * 3 * 16   # ConvT(2 -> 3) on 16x16
    )
    assert g_macs == 41_984
    assert generator_flops(cfg) == 2 * g_macs
    # D, convs: output elements x in channels x 16 taps
    d_macs = (
        2 * 16 * 16 * 3 * 16     # Conv(3 -> 2) -> 16x16
        + 4 * 8 * 8 * 2 * 16     # Conv(2 -> 4) -> 8x8
        + 8 * 4 * 4 * 4 * 16     # Conv(4 -> 8) -> 4x4
        + 1 * 1 * 1 * 8 * 16     # Conv(8 -> 1) -> 1x1
    )
    assert discriminator_flops(cfg) == 2 * d_macs
    assert encoder_flops(cfg) == 0


def test_torchgan2015_hand_count():
    cfg = ModelConfig(arch="torchgan2015", image_size=64, latent_dim=2, g_width=1, d_width=1)
    d_macs = (
        1 * 64 * 64 * 3 * 25     # conv5x5 3 -> 1 at 64x64 (pooling comes after)
        + 2 * 32 * 32 * 1 * 25   # conv5x5 1 -> 2 at 32x32
        + 3 * 16 * 16 * 2 * 25   # conv5x5 2 -> 3 at 16x16
        + 8 * 8 * 3 * 1024       # Linear 192 -> 1024
        + 1024                   # Linear 1024 -> 1
    )
    assert discriminator_flops(cfg) == 2 * d_macs
    g_macs = (
        2 * 64                   # Linear 2 -> 1*8*8
        + 2 * 16 * 16 * 1 * 25   # up, conv5x5 1 -> 2 at 16x16
        + 2 * 32 * 32 * 2 * 25   # up, conv5x5 2 -> 2 at 32x32
        + 1 * 64 * 64 * 2 * 25   # up, conv5x5 2 -> 1 at 64x64
        + 3 * 64 * 64 * 1 * 9    # conv3x3 1 -> 3
    )
    assert generator_flops(cfg) == 2 * g_macs


def test_vaegan_32_hand_count():
    cfg = ModelConfig(arch="vaegan", image_size=32, latent_dim=2, g_width=1, d_width=1, e_width=1)
    e_macs = (
        1 * 16 * 16 * 3 * 25     # conv5x5 s2 3 -> 1
        + 2 * 8 * 8 * 1 * 25     # 1 -> 2
        + 4 * 4 * 4 * 2 * 25     # 2 -> 4
        + 64 * 16                # Linear 4*4*4 -> 16
        + 2 * 16 * 2             # mu and logvar heads
    )
    assert encoder_flops(cfg) == 2 * e_macs
    g_macs = (
        2 * 8 * 4 * 4            # Linear 2 -> 8*4*4
        + 8 * 4 * 4 * 8 * 25     # ConvT 8 -> 8 from 4x4
        + 8 * 8 * 8 * 4 * 25     # ConvT 8 -> 4 from 8x8
        + 4 * 16 * 16 * 1 * 25   # ConvT 4 -> 1 from 16x16
        + 3 * 32 * 32 * 1 * 25   # conv5x5 1 -> 3
    )
    assert generator_flops(cfg) == 2 * g_macs
    d_macs = (
        1 * 32 * 32 * 3 * 25     # conv5x5 3 -> 1
        + 4 * 16 * 16 * 1 * 25   # s2 1 -> 4
        + 8 * 8 * 8 * 4 * 25     # s2 4 -> 8
        + 8 * 4 * 4 * 8 * 25     # s2 8 -> 8
        + 128 * 16 + 16          # Linear 128 -> 16, Linear 16 -> 1
    )
    assert discriminator_flops(cfg) == 2 * d_macs


def test_flops_leave_rng_untouched_and_scale_with_width():
    state = torch.get_rng_state()
    small = generator_flops(ModelConfig(arch="dcgan", image_size=64, g_width=32))
    big = generator_flops(ModelConfig(arch="dcgan", image_size=64, g_width=64))
    assert torch.equal(state, torch.get_rng_state())
    assert 3.5 < big / small < 4.0  # all but the first and last layer are quadratic in width

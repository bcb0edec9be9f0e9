"""The networks of each architecture, built from a ModelConfig (docs/algorithms.md sections 1-3).

Every generator takes z as (N, latent_dim) or (N, latent_dim, 1, 1), returns (N, 3, S, S), and has
`latent_dim`, `image_size`, `arch` and `early_features(z)`. Every discriminator returns logits (N,):
the papers' final Sigmoid lives in the loss (BCE-with-logits). Nothing happens at import time.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.config import ARCHS, IMAGE_SIZES, VAE_UPSAMPLINGS, ModelConfig, UserError
from latentlab.models.common import count_params, latent_vector
from latentlab.models.dcgan import DCGANDiscriminator, DCGANGenerator
from latentlab.models.flops import forward_flops
from latentlab.models.torchgan2015 import Torch2015Discriminator, Torch2015Generator
from latentlab.models.vaegan import VAEGANDecoder, VAEGANDiscriminator, VAEGANEncoder

__all__ = [
    "IMAGE_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Torch2015Discriminator",
    "Torch2015Generator",
    "VAEGANDecoder",
    "VAEGANDiscriminator",
    "VAEGANEncoder",
    "build_discriminator",
    "build_encoder",
    "build_generator",
    "build_models",
    "check_model_config",
    "count_params",
    "discriminator_flops",
    "encoder_flops",
    "generator_flops",
    "latent_vector",
]


def check_model_config(cfg: ModelConfig) -> None:
    """Refuse an architecture/size/width combination the networks cannot be built for."""
    if cfg.arch not in ARCHS:
        raise UserError(f"model.arch must be one of {', '.join(ARCHS)} (got {cfg.arch!r})")
    sizes = IMAGE_SIZES[cfg.arch]
    if cfg.image_size not in sizes:
        raise UserError(f"model.image_size for {cfg.arch} must be one of {', '.join(map(str, sizes))} "
                        f"(got {cfg.image_size})")
    for key in ("latent_dim", "g_width", "d_width", "e_width"):
        value = getattr(cfg, key)
        if not isinstance(value, int) or value < 1:
            raise UserError(f"model.{key} must be a whole number of at least 1 (got {value!r})")
    if cfg.arch == "vaegan" and cfg.vae_upsample not in VAE_UPSAMPLINGS:
        raise UserError(f"model.vae_upsample must be one of {', '.join(VAE_UPSAMPLINGS)} (got {cfg.vae_upsample!r})")


def build_generator(cfg: ModelConfig) -> nn.Module:
    check_model_config(cfg)
    if cfg.arch == "dcgan":
        return DCGANGenerator(cfg.latent_dim, cfg.image_size, cfg.g_width)
    if cfg.arch == "torchgan2015":
        return Torch2015Generator(cfg.latent_dim, cfg.g_width, tanh=cfg.g_tanh)
    return VAEGANDecoder(cfg.latent_dim, cfg.image_size, cfg.g_width, cfg.vae_upsample)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    check_model_config(cfg)
    if cfg.arch == "dcgan":
        return DCGANDiscriminator(cfg.image_size, cfg.d_width)
    if cfg.arch == "torchgan2015":
        return Torch2015Discriminator(cfg.d_width)
    return VAEGANDiscriminator(cfg.image_size, cfg.d_width)


def build_encoder(cfg: ModelConfig) -> nn.Module | None:
    """The VAE/GAN encoder; None for the GAN-only architectures."""
    check_model_config(cfg)
    if cfg.arch != "vaegan":
        return None
    return VAEGANEncoder(cfg.latent_dim, cfg.image_size, cfg.e_width)


def build_models(cfg: ModelConfig) -> dict[str, nn.Module]:
    """{"G", "D"} (and "E" for vaegan), freshly initialised from torch's global RNG (seed it first).

    Built in the fixed order G, D, E so that a seed gives the same weights every time.
    """
    nets = {"G": build_generator(cfg), "D": build_discriminator(cfg)}
    encoder = build_encoder(cfg)
    if encoder is not None:
        nets["E"] = encoder
    return nets


def _meta_flops(build, cfg: ModelConfig, input_shape: tuple[int, ...]) -> int:
    check_model_config(cfg)
    with torch.device("meta"):
        net = build(cfg)
    return 0 if net is None else forward_flops(net, input_shape)


def generator_flops(cfg: ModelConfig) -> int:
    """FLOPs (2 x multiply-adds of convs and linears) of one generator forward pass, per image."""
    return _meta_flops(build_generator, cfg, (cfg.latent_dim,))


def discriminator_flops(cfg: ModelConfig) -> int:
    """FLOPs (2 x multiply-adds of convs and linears) of one discriminator forward pass, per image."""
    return _meta_flops(build_discriminator, cfg, (3, cfg.image_size, cfg.image_size))


def encoder_flops(cfg: ModelConfig) -> int:
    """FLOPs of one encoder forward pass per image; 0 for architectures without an encoder."""
    return _meta_flops(build_encoder, cfg, (3, cfg.image_size, cfg.image_size))

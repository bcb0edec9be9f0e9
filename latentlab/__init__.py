"""latentlab: train face GANs and VAE/GANs and explore their latent space."""

__version__ = "0.1.0"

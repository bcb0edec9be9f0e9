"""The Record tab: a latent walk through keyframes, previewed and exported as a video."""

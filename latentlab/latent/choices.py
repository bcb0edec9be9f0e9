"""Names of the interpolations and easings, importable without torch (the window lists them
before torch has loaded); latent/interp.py holds the functions and checks it matches."""

INTERPOLATION_NAMES = ("slerp", "lerp")
EASING_NAMES = ("linear", "smooth", "cosine")
UPSCALE_NAMES = ("nearest", "bicubic")

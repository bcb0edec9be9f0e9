"""Names of the interpolations, easings and upscalings, importable without torch (the
window and the CLI list them before torch has loaded); latent/interp.py holds the functions and
checks it matches."""

INTERPOLATION_NAMES = ("slerp", "lerp")
EASING_NAMES = ("linear", "smooth", "cosine")
UPSCALE_NAMES = ("nearest", "bicubic")

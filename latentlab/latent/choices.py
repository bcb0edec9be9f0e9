"""Names of the interpolations, easings, upscalings and x264 presets, importable without torch (the
window and the CLI list them before torch has loaded); latent/interp.py holds the functions and
checks it matches."""

INTERPOLATION_NAMES = ("slerp", "lerp")
EASING_NAMES = ("linear", "smooth", "cosine")
UPSCALE_NAMES = ("nearest", "bicubic")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# H.264 for timelapses: x264's ultrafast at crf 18 matches or beats the walks' veryfast at crf 16 in
# PSNR on four runs' grids (+0.2 to +1.3 dB) at 1.3-2.8x the speed and 1.4-2.1x the file size
# (README, "Benchmarks"); --preset veryfast trades the speed back for the smaller file.
TIMELAPSE_PRESET, TIMELAPSE_CRF = "ultrafast", 18

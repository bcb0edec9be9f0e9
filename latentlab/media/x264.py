"""x264's presets and latentlab's H.264 defaults, in one place beside the encoder (video.py); stdlib
only, so the CLI lists them in --help and the window before numpy or torch has loaded.

Walks and timelapses keep different defaults on purpose, each measured on its own frames:
- walks: veryfast at crf 16 gives a walk's frames a higher PSNR than fast at crf 18 (50.7 vs
  50.1 dB on the demo model's walk, 256 px) in the same file size, encoding in half the time;
- timelapses: ultrafast at crf 18 matches or beats veryfast at crf 16 in PSNR on four runs' grids
  (+0.2 to +1.3 dB) at 1.3-2.8x the speed and 1.4-2.1x the file size (docs/benchmarks.md);
  `timelapse --preset veryfast` trades the speed back for the smaller file.
"""

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
WALK_PRESET, WALK_CRF = "veryfast", 16
TIMELAPSE_PRESET, TIMELAPSE_CRF = "ultrafast", 18

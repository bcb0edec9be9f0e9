"""Frames to files: latent walks and training timelapses, produced on one thread and encoded on
another (pipeline), written as MP4, WebM, GIF or PNGs (video)."""

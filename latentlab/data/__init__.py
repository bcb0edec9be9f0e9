"""Data sources, the synthetic face renderer, the pre-decoded cache and training batches.

`BatchFeeder` needs torch and is imported on first use, so the cache and the renderer stay light.
"""

from latentlab.data.cache import ImageSet, default_cache_dir, open_source, skip_summary
from latentlab.data.decode import CROPS, load_photo

__all__ = ["CROPS", "BatchFeeder", "ImageSet", "default_cache_dir", "load_photo", "open_source", "skip_summary"]


def __getattr__(name):
    if name == "BatchFeeder":
        from latentlab.data.feeder import BatchFeeder

        return BatchFeeder
    raise AttributeError(f"module 'latentlab.data' has no attribute {name!r}")

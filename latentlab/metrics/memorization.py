"""Memorization check: the training images nearest to a generated face, in the fixed feature space.

A generator that copies its training set scores well on every distribution metric, so the check
is by example: look at a face next to its nearest training images. Distances are also given relative
to the data's typical distance (the mean over pairs of training images): among 500 synthetic faces the
closest two real images are 0.17 apart on that scale, so a generated face below about 0.1 of it is
a near-copy of a training image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.metrics.features import (
    embed,
    mean_pairwise_distance,
    pairwise_distances,
    reference_indices,
    to_float_images,
)

COPY_DISTANCE = 0.1  # relative distance under which a face is called a near-copy

_index_cache: dict[tuple, tuple[torch.Tensor, float]] = {}


@dataclass
class Neighbour:
    index: int  # into data.images
    distance: float  # in feature space
    relative: float  # distance / the data's mean pairwise distance
    image: np.ndarray  # uint8 (H, W, 3)

    @property
    def near_copy(self) -> bool:
        return self.relative < COPY_DISTANCE


def training_features(data) -> tuple[torch.Tensor, float]:
    """Features of every training image (the held-out tail excluded) and the data's mean pairwise
    distance; computed once per data set and process (20,000 images: a few seconds on a CPU)."""
    key = (getattr(data, "fingerprint", id(data)), data.train_count)
    if key not in _index_cache:
        feats = embed(data.images[: data.train_count])
        ref = mean_pairwise_distance(feats[torch.from_numpy(reference_indices(len(feats), 256))])
        _index_cache.clear()  # one data set at a time: the features of a big set are not small
        _index_cache[key] = (feats, ref)
    return _index_cache[key]


def nearest_training_images(image, data, k: int = 8) -> list[Neighbour]:
    """The k training images nearest to `image` (uint8 (H,W,3), or float (3,H,W) / (1,3,H,W) in
    [-1, 1] as a generator returns it), nearest first."""
    if data.train_count < 1:
        return []
    feats, ref = training_features(data)
    query = embed(to_float_images(image)[:1])
    d = pairwise_distances(query[:1], feats)[0]
    k = max(1, min(k, len(feats)))
    dist, idx = torch.topk(d, k, largest=False)
    return [Neighbour(int(i), float(v), float(v) / ref if ref > 0 else float("inf"), np.array(data.images[int(i)]))
            for v, i in zip(dist, idx)]

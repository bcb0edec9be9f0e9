"""A fixed feature space that needs no download: a small convolutional net with random weights.

Every metric that compares images here (sample diversity, near-duplicates, precision/recall, the
offline Fréchet distance, nearest training images) measures distances in this space. Random
convolutional features keep local structure (edges, colour blobs, their layout) that raw pixels
smear, and random embeddings are known to rank generative models sensibly for k-NN precision/recall
(Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative models").

The weights come from NumPy's PCG64 generator with a fixed seed, which gives the same stream on every
platform and version, so a value measured today is comparable with one measured next year, and the
GUI, the CLI and the engine agree. It is NOT Inception: numbers in this space are not comparable to
published FID or precision/recall figures.

Layout: images are brought to 32x32 (area averaging down, bilinear up), then three 3x3 convolutions
(3->16->32->64 channels), each ReLU + 2x2 average pooling, give a 64x4x4 map; a fixed random
projection takes it to FEATURE_DIM dimensions (Johnson-Lindenstrauss: pairwise distances kept).
About 2.8 M multiply-adds per image: 20,000 images in a few seconds on two CPU cores.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.models.common import from_uint8

SEED = 20160519  # fixed forever: changing it changes every stored number
FEATURE_DIM = 256
INPUT_SIZE = 32
CHANNELS = (3, 16, 32, 64)
BATCH = 512

_cache: dict[str, tuple[list[torch.Tensor], torch.Tensor]] = {}


def _weights() -> tuple[list[torch.Tensor], torch.Tensor]:
    if "w" not in _cache:
        rng = np.random.Generator(np.random.PCG64(SEED))
        convs = []
        for c_in, c_out in itertools.pairwise(CHANNELS):
            # He scaling keeps activations of similar size layer after layer; weights are centred per
            # output channel so a flat image region gives zero response (edges and layout dominate).
            w = rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2.0 / (c_in * 9))
            w -= w.mean(axis=(1, 2, 3), keepdims=True) * (c_in > 3)
            convs.append(torch.from_numpy(w.astype(np.float32)))
        flat = CHANNELS[-1] * (INPUT_SIZE // 8) ** 2
        proj = torch.from_numpy((rng.standard_normal((flat, FEATURE_DIM)) / np.sqrt(FEATURE_DIM)).astype(np.float32))
        _cache["w"] = (convs, proj)
    return _cache["w"]


def to_float_images(images) -> torch.Tensor:
    """uint8 (N,H,W,3) arrays/tensors or float (N,3,H,W) in [-1, 1] -> float32 (N,3,H,W) in [-1, 1]."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.array(images))  # a copy: cache files are read-only memmaps
    if images.dtype == torch.uint8:
        if images.ndim == 3:
            images = images[None]
        return from_uint8(images)
    if images.ndim == 3:
        images = images[None]
    return images.detach().float().cpu()


def feature_maps(x: torch.Tensor) -> list[torch.Tensor]:
    """The three layers' maps (16×16, 8×8, 4×4) of float images (N, 3, H, W) in [-1, 1], on x's
    device and differentiable (photo projection compares images in this space)."""
    convs, _ = _weights()
    if x.shape[-1] != INPUT_SIZE:
        x = (F.adaptive_avg_pool2d(x, INPUT_SIZE) if x.shape[-1] > INPUT_SIZE
             else F.interpolate(x, size=INPUT_SIZE, mode="bilinear", align_corners=False))
    maps = []
    for w in convs:
        x = F.avg_pool2d(F.relu(F.conv2d(x, w.to(x.device, x.dtype), padding=1)), 2)
        maps.append(x)
    return maps


@torch.no_grad()
def embed(images, batch: int = BATCH) -> torch.Tensor:
    """Feature vectors (N, FEATURE_DIM) float32 on the CPU, for uint8 (N,H,W,3) or float (N,3,H,W)."""
    _, proj = _weights()
    n = len(images)
    out = torch.empty(n, FEATURE_DIM)
    for start in range(0, n, batch):
        x = feature_maps(to_float_images(images[start: start + batch]))[-1]
        out[start: start + len(x)] = x.flatten(1) @ proj
    return out


def pairwise_distances(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Euclidean distances (float64 for the subtraction, so near-duplicates are not lost to rounding)."""
    b = a if b is None else b
    return torch.cdist(a.double(), b.double())


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """The mean distance over all distinct pairs: the diversity of a set of images."""
    n = len(features)
    if n < 2:
        return 0.0
    d = pairwise_distances(features)
    return float(d.sum() / (n * (n - 1)))


def close_pair_fraction(features: torch.Tensor, threshold: float) -> float:
    """The fraction of distinct pairs closer than `threshold`."""
    n = len(features)
    if n < 2:
        return 0.0
    d = pairwise_distances(features)
    iu = torch.triu_indices(n, n, 1)
    return float((d[iu[0], iu[1]] < threshold).double().mean())


def reference_indices(count: int, n: int, seed: int = SEED) -> np.ndarray:
    """A fixed, sorted subset of `n` indices out of `count` (the data's reference images)."""
    if count <= n:
        return np.arange(count)
    return np.sort(np.random.Generator(np.random.PCG64(seed)).choice(count, n, replace=False))

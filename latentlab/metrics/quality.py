"""Quality metrics of a generator against real images.

Offline, in the random-conv feature space of `features.py` (no download, NOT comparable to published
figures, which are measured with Inception-v3):
- precision / recall with k-NN manifolds (Kynkäänniemi et al. 2019, "Improved precision and recall
  metric for assessing generative models"): a set's manifold is the union of balls around its
  points, each with the radius to its k-th nearest neighbour in the same set. Precision is the share
  of generated images inside the real manifold (fidelity), recall the share of real images inside the
  generated manifold (coverage). k = 3, as in the paper.
- Fréchet distance between Gaussians fitted to the two feature sets (the formula of FID,
  Heusel et al. 2017) - called "fd_random" everywhere so nobody mistakes it for FID.

With Inception weights: FID and KID (Bińkowski et al. 2018) computed by torchmetrics on the
FID-standard Inception-v3 of torch-fidelity (`pip install 'latentlab[metrics]'`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import warnings
from pathlib import Path

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.metrics.features import pairwise_distances

K_NEAREST = 3
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_FILE
METRICS_EXTRA = "pip install 'latentlab[metrics]' (torchmetrics and torch-fidelity)"


def _kth_radius(features: torch.Tensor, k: int) -> torch.Tensor:
    d = pairwise_distances(features)
    # index k, not k-1: each point's nearest neighbour in its own set is itself, at distance 0
    return d.kthvalue(min(k + 1, len(features)), dim=1).values


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    hits = []
    for start in range(0, len(points), chunk):
        d = pairwise_distances(points[start: start + chunk], centres)
        hits.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(hits)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = K_NEAREST) -> tuple[float, float]:
    """(precision, recall) of `fake` against `real` feature sets, each (N, D)."""
    if len(real) <= k or len(fake) <= k:
        raise UserError(f"precision/recall need more than {k} real and generated images")
    precision = _inside(fake, real, _kth_radius(real, k)).double().mean()
    recall = _inside(real, fake, _kth_radius(fake, k)).double().mean()
    return float(precision), float(recall)


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to two feature sets.

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2),
    a symmetric matrix, so symmetric eigensolvers suffice (no scipy)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = (vecs * vals.clamp_min(0).sqrt()) @ vecs.T
    middle = root_a @ cov_b @ root_a
    tr_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * tr_root
    return float(value.clamp_min(0))


def offline_metrics(real_features: torch.Tensor, fake_features: torch.Tensor) -> dict[str, float]:
    """precision, recall and fd_random (see the module docstring) plus the diversity ratio of the
    generated set (its mean pairwise distance over the real set's)."""
    from latentlab.metrics.features import mean_pairwise_distance

    precision, recall = precision_recall(real_features, fake_features)
    ref = mean_pairwise_distance(real_features)
    return {"precision": precision, "recall": recall, "fd_random": frechet_distance(real_features, fake_features),
            "diversity": mean_pairwise_distance(fake_features) / ref if ref > 0 else 0.0}


# -- Inception: FID and KID ------------------------------------------------------------------------------
class _Precomputed(torch.nn.Module):
    """Hands already-extracted Inception features to torchmetrics, so one pass serves FID and KID."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


@contextlib.contextmanager
def _weights_only_loads():
    """torch-fidelity loads its weights without torch's weights-only guard; forcing the guard
    means a tampered file can hold nothing but tensors (never unpickle code)."""
    old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


def cached_inception_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def load_inception(weights: str | Path | None = None, *, download: bool = True):
    """The FID Inception-v3 (torchmetrics' NoTrainInceptionV3, 2048-d pool features), from `weights`,
    else torch's hub cache, else downloaded there when online. UserError with what to do otherwise."""
    try:
        import torch_fidelity  # noqa: F401 - NoTrainInceptionV3 needs it
        from torchmetrics.image.fid import NoTrainInceptionV3
    except ImportError:
        raise UserError(f"FID/KID need torchmetrics with torch-fidelity, not installed here: {METRICS_EXTRA}") from None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(f"--inception {path}: no such file")
    else:
        path = cached_inception_path()
        if not path.is_file():
            if not download:
                raise UserError(f"FID/KID need the Inception weights {INCEPTION_FILE} (92 MB); pass --inception PATH")
            _download(path)
    try:
        with _weights_only_loads():
            return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=str(path)).eval()
    except Exception as exc:  # noqa: BLE001 - any failure to read the file is the user's file's problem
        text = str(exc).strip()
        if "weights only" in text.lower() or "weights_only" in text:
            reason = "it is not a plain file of tensors (refused: it could hold code)"
        else:
            reason = (text.splitlines()[0] if text else type(exc).__name__)[:200]
        raise UserError(f"{path}: not the FID Inception weights ({INCEPTION_FILE}, a plain state dict): "
                        f"{reason}") from None


def _download(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # an offline machine that silently drops packets must not hang
    try:
        torch.hub.download_url_to_file(INCEPTION_URL, str(path), progress=True)
    except Exception as exc:  # noqa: BLE001 - urllib, ssl and socket errors alike mean "offline"
        raise UserError(f"FID/KID need the Inception weights {INCEPTION_FILE} (92 MB); they are not in "
                        f"{path.parent} and downloading them failed ({type(exc).__name__}: {exc}). "
                        f"Download {INCEPTION_URL} on a machine that is online and pass --inception PATH") from None
    finally:
        socket.setdefaulttimeout(old)


@torch.no_grad()
def inception_features(net, images: np.ndarray | torch.Tensor, batch: int = 50, progress=None) -> torch.Tensor:
    """2048-d pool features of uint8 (N,H,W,3) images (float (N,3,H,W) in [-1,1] also accepted)."""
    from latentlab.metrics.features import to_float_images

    out = []
    n = len(images)
    for start in range(0, n, batch):
        x = to_float_images(images[start: start + batch])
        x = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        out.append(net(x).reshape(len(x), -1).double())
        if progress is not None:
            progress(min(start + batch, n), n)
    return torch.cat(out)


def fid_kid(real_features: torch.Tensor, fake_features: torch.Tensor) -> dict[str, float]:
    """FID and KID (mean and std over subsets) by torchmetrics from Inception features."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    fid = FrechetInceptionDistance(feature=_Precomputed(real_features.shape[1]))
    fid.update(real_features, real=True)
    fid.update(fake_features, real=False)
    subset = min(1000, len(real_features), len(fake_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "KID keeps every feature in memory": known and small here
        kid = KernelInceptionDistance(feature=_Precomputed(real_features.shape[1]), subset_size=subset, subsets=100)
    kid.update(real_features, real=True)
    kid.update(fake_features, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # KID's subsets are random: fixed, so the same inputs give the same number
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}

"""Editing directions in z: principal directions (GANSpace) and encoder attribute vectors, and their files.

Principal directions follow Härkönen et al. 2020 (GANSpace): sample many z, PCA an early layer's
activations, and carry each component back to z by least squares. Attribute vectors are the
difference of the encoder's mean latent over images with and without a label (Larsen et al. 2016).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.latent.attributes import AttributeSet
from latentlab.models.common import eval_module, from_uint8


def _device_of(module: torch.nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _sign_fix(rows: np.ndarray) -> np.ndarray:
    """PCA signs are arbitrary; make each row's largest-magnitude entry positive so results are
    reproducible across LAPACK builds."""
    idx = np.abs(rows).argmax(axis=1)
    signs = np.sign(rows[np.arange(len(rows)), idx])
    signs[signs == 0] = 1
    return rows * signs[:, None]


def principal_directions(G: torch.nn.Module, n_samples: int = 2000, n_components: int = 20, seed: int = 0,
                         progress: Callable[[int, int], None] | None = None, batch: int = 250,
                         cancel: Callable[[], bool] | None = None):
    """GANSpace directions of generator G.

    Returns (directions float32 (k, nz), unit rows, most important first; stddevs float32 (k,), the
    standard deviation of each principal component in G.early_features space, which ranks them;
    explained float32 (k,), the share of that layer's total variance each component carries).
    Along any unit direction z ~ N(0, I) has unit variance, so a slider's ±3 spans ±3 standard
    deviations of the latents along it (docs/algorithms.md §4): unit rows are already scaled by their spread.
    k = min(n_components, latent_dim, n_samples − 1): beyond latent_dim the directions in z can no
    longer be independent. The result depends only on (G's weights, n_samples, n_components, seed).
    progress(done, total) is called per batch of samples; cancel() returning True stops early and
    the function returns None.
    """
    nz = int(G.latent_dim)
    if n_samples < 2:
        raise UserError(f"principal directions need at least 2 samples (got {n_samples})")
    if n_components < 1:
        raise UserError(f"principal directions: n_components must be at least 1 (got {n_components})")
    model = eval_module(G)
    device = _device_of(model)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    z = torch.randn(n_samples, nz, generator=gen, dtype=torch.float32)
    chunks = []
    with torch.inference_mode():
        for start in range(0, n_samples, batch):
            if cancel is not None and cancel():
                return None
            feats = model.early_features(z[start:start + batch].to(device))
            chunks.append(feats.float().flatten(1).cpu())
            if progress is not None:
                progress(min(start + batch, n_samples), n_samples)
    x = torch.cat(chunks)
    # Centre in float64 (a large common offset would cost float32 digits), then run the PCA in
    # float32: six times faster on a CPU and ample for the top components.
    x = (x.to(torch.float64) - x.to(torch.float64).mean(dim=0, keepdim=True)).to(torch.float32)
    k = min(n_components, nz, n_samples - 1, x.shape[1])
    q = min(k + 10, min(x.shape))  # oversampling makes the randomized SVD accurate for the top k
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        _, s, v = torch.pca_lowrank(x, q=q, center=False, niter=6)
    coords = (x @ v[:, :k]).to(torch.float64)  # (N, k) PCA coordinates of each sample
    # Least squares z ≈ coords @ M: row j of M is the step in z that moves component j by one unit.
    m = torch.linalg.lstsq(coords, z.to(torch.float64)).solution
    m = m / m.norm(dim=1, keepdim=True).clamp_min(1e-12)
    directions = _sign_fix(m.numpy()).astype(np.float32)
    variances = s[:k].double() ** 2 / (n_samples - 1)
    total = x.double().pow(2).sum() / (n_samples - 1)
    stddevs = variances.sqrt().numpy().astype(np.float32)
    explained = (variances / total.clamp_min(1e-30)).numpy().astype(np.float32)
    return directions, stddevs, explained


def attribute_vectors(E: torch.nn.Module, images: np.ndarray, labels: Mapping[str, np.ndarray], *,
                      names: list[str] | None = None, batch: int = 64, max_images: int | None = 2000,
                      progress: Callable[[int, int], None] | None = None,
                      source: str = "") -> AttributeSet:
    """Attribute vectors: the direction of mean encoder mu over images with the label minus the mean
    over images without it (Larsen et al. 2016), scaled to the spread of the latents along it: each
    vector's length is the standard deviation of all encoded images' projections onto its direction,
    so a slider's ±3 spans ±3 standard deviations (docs/algorithms.md §4). The raw difference of means
    can be 20 times shorter for a label the encoder carries weakly than for a strong one, and its
    slider then changes nothing visible. images: uint8 (N, S, S, 3); labels: name -> bool (N,).

    names: the attributes wanted (default all); an explicitly named attribute that is unknown or has
    no positive or no negative example is a UserError; otherwise such an attribute is skipped with
    a note. At most max_images images are encoded, evenly spaced through the set (deterministic).
    Returns an AttributeSet of kind "encoder" (counts, separations, notes; `source` for each).
    """
    images = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise UserError(f"attribute vectors need uint8 images shaped (N, S, S, 3) (got {images.dtype} "
                        f"{tuple(images.shape)})")
    n = len(images)
    explicit = names is not None
    wanted = list(labels) if names is None else list(names)
    for name in wanted:
        if name not in labels:
            raise UserError(f"unknown attribute {name!r}; the data set has: {', '.join(labels) or 'no labels'}")
        if len(labels[name]) != n:
            raise UserError(f"attribute {name!r} has {len(labels[name])} labels for {n} images")
    result = AttributeSet()
    if not wanted:
        result.notes.append("the data set has no attribute labels")
        return result
    idx = np.arange(n) if max_images is None or n <= max_images else np.unique(
        np.linspace(0, n - 1, max_images).round().astype(np.int64))
    usable = []
    for name in wanted:
        lab = np.asarray(labels[name], dtype=bool)[idx]
        pos, neg = int(lab.sum()), int((~lab).sum())
        result.counts[name] = (pos, neg)
        if pos == 0 or neg == 0:
            why = "no positive" if pos == 0 else "no negative"
            if explicit:
                raise UserError(f"attribute {name!r} has {why} examples among the {len(idx)} images used")
            result.notes.append(f"{name}: skipped ({why} examples)")
            continue
        usable.append((name, lab))
    if not usable:
        return result
    model = eval_module(E)
    device = _device_of(model)
    mus = []
    with torch.inference_mode():
        for start in range(0, len(idx), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(images[idx[start:start + batch]])).to(device)
            x = from_uint8(chunk)
            mu, _ = model(x)
            mus.append(mu.float().cpu())
            if progress is not None:
                progress(min(start + batch, len(idx)), len(idx))
    mu_all = torch.cat(mus).to(torch.float64).numpy()
    for name, lab in usable:
        diff = mu_all[lab].mean(axis=0) - mu_all[~lab].mean(axis=0)
        norm = float(np.linalg.norm(diff))
        if norm < 1e-12:
            result.notes.append(f"{name}: skipped (the encoder maps both groups to the same mean)")
            continue
        unit = diff / norm
        spread = float((mu_all @ unit).std())
        result.add(name, (unit * spread).astype(np.float32), counts=result.counts[name], source=source,
                   kind="encoder", separation=norm / max(spread, 1e-12))
    return result

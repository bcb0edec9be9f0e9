"""A named direction from labelled latents: the unit normal of a linear classifier (docs/algorithms.md §4).

InterFaceGAN (Shen et al., CVPR 2020) finds an attribute's direction as the normal of a linear
boundary separating latents with the attribute from latents without it. Here the boundary is an
L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares):
the problem is convex, a few dozen d×d solves for d ≤ 512 run in milliseconds, and the answer is
deterministic, with no learning rate to tune. With few labels in many dimensions the classes are
separable and an unregularised fit's weights would grow without bound; the ridge keeps the normal
between the difference of the class means (its limit under a strong ridge) and the maximum-margin
direction (its limit under a weak one).

Held-out accuracy is k-fold cross-validation (k ≤ 5, every fold holding both classes), so the
window can say after every click how well the labels so far predict unseen ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.config import UserError

RIDGE = 1.0  # λ in Σ log-loss + λ/2 ‖w‖²; z ~ N(0, I) makes one value fit every model
NEWTON_STEPS = 50


@dataclass
class Fit:
    unit: np.ndarray  # float32 (d,): the boundary's unit normal, pointing toward "with"
    spread: float  # standard deviation of the labelled latents along `unit`
    accuracy: float  # held-out (cross-validated) accuracy in [0, 1]; NaN with too few labels to hold any out
    counts: tuple[int, int]  # (with, without)
    separation: float  # distance between the groups' means along `unit`, in `spread`s
    offset: float = 0.0  # the boundary: unit·z + offset = 0

    def predict(self, z) -> np.ndarray:
        """bool (N,): which latents the boundary puts on the "with" side."""
        return np.asarray(z, np.float64) @ self.unit.astype(np.float64) + self.offset > 0

    @property
    def vector(self) -> np.ndarray:
        """The direction at the length that makes ±3 on a slider span ±3 standard deviations."""
        return (self.unit * self.spread).astype(np.float32)


def _check(z, labels) -> tuple[torch.Tensor, torch.Tensor]:
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if z.ndim != 2 or len(z) != len(y) or y.ndim != 1:
        raise UserError(f"labelled latents must be shaped (N, d) with N labels (got {z.shape} and {y.shape})")
    if not np.isfinite(z).all():
        raise UserError("a labelled latent is not finite")
    return torch.from_numpy(z), torch.from_numpy(y.astype(np.float64))


def logistic_normal(z: torch.Tensor, y: torch.Tensor, ridge: float = RIDGE) -> tuple[torch.Tensor, float]:
    """(w (d,), b) of argmin Σ log(1 + exp(−s_i (w·z_i + b))) + ridge/2 ‖w‖², s_i = ±1, by Newton's
    method. float64 throughout; b is not regularised."""
    n, d = z.shape
    x = torch.cat([z, torch.ones(n, 1, dtype=z.dtype)], dim=1)
    reg = torch.full((d + 1,), float(ridge), dtype=z.dtype)
    reg[-1] = 1e-9  # the bias: free, but the Hessian stays invertible when a class is empty in a fold
    theta = torch.zeros(d + 1, dtype=z.dtype)
    for _ in range(NEWTON_STEPS):
        p = torch.sigmoid(x @ theta)
        grad = x.T @ (p - y) + reg * theta
        hess = (x.T * (p * (1 - p))) @ x + torch.diag(reg)
        step = torch.linalg.solve(hess, grad)
        theta = theta - step
        if float(step.abs().max()) < 1e-9:
            break
    return theta[:d], float(theta[d])


def _folds(y: np.ndarray, k: int) -> list[np.ndarray]:
    """k folds, each class dealt round-robin over them in order (deterministic, stratified)."""
    fold = np.empty(len(y), np.int64)
    for cls in (True, False):
        idx = np.flatnonzero(y == cls)
        fold[idx] = np.arange(len(idx)) % k
    return [np.flatnonzero(fold == i) for i in range(k)]


def heldout_accuracy(z, labels, ridge: float = RIDGE, folds: int = 5) -> float:
    """Cross-validated accuracy of the classifier on these labels: each fold is predicted by a fit
    on the others. NaN when a class has fewer than 2 labels (nothing can be held out)."""
    zt, yt = _check(z, labels)
    y = yt.numpy().astype(bool)
    k = min(int(folds), int(y.sum()), int((~y).sum()))
    if k < 2:
        return float("nan")
    right = 0
    for test in _folds(y, k):
        train = np.setdiff1d(np.arange(len(y)), test)
        w, b = logistic_normal(zt[train], yt[train], ridge)
        right += int(((zt[test] @ w + b > 0).numpy() == y[test]).sum())
    return right / len(y)


def fit_direction(z, labels, ridge: float = RIDGE, folds: int = 5) -> Fit:
    """The direction separating latents labelled True ("with") from those labelled False, with its
    held-out accuracy. UserError unless both classes have a label."""
    zt, yt = _check(z, labels)
    y = yt.numpy().astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        raise UserError(f"a direction needs latents with and without the attribute (got {pos} with, {neg} without)")
    w, b = logistic_normal(zt, yt, ridge)
    norm = float(w.norm())
    if norm < 1e-12:
        raise UserError("the labelled latents do not separate: no direction found")
    unit = (w / norm).numpy()
    proj = zt.numpy() @ unit
    spread = float(proj.std()) or 1.0
    separation = float(proj[y].mean() - proj[~y].mean()) / spread
    return Fit(unit.astype(np.float32), spread, heldout_accuracy(zt.numpy(), y, ridge, folds), (pos, neg), separation,
               b / norm)


def conditional(direction: np.ndarray, keep: np.ndarray | list) -> np.ndarray:
    """`direction` with its components along the `keep` directions removed (InterFaceGAN's
    conditional manipulation, Shen et al. 2020): moving along the result changes none of the kept
    attributes' linear scores. keep: (k, d) or a list of (d,) vectors, any lengths; the length of
    `direction` is kept (so a slider moves as far)."""
    v = np.asarray(direction, np.float64)
    basis = np.asarray(keep, np.float64).reshape(-1, v.size)
    if not len(basis):
        return np.asarray(direction, np.float32)
    q, _ = np.linalg.qr(basis.T)  # orthonormal basis of the kept span
    out = v - q @ (q.T @ v)
    norm = np.linalg.norm(out)
    if norm < 1e-9 * max(np.linalg.norm(v), 1e-30):
        raise UserError("this direction lies in the span of the ones kept: nothing is left to move along")
    return (out * (np.linalg.norm(v) / norm)).astype(np.float32)


def correlations(principal: np.ndarray, named: dict[str, np.ndarray]) -> list[tuple[str, float] | None]:
    """For each principal direction (rows of (k, d)), the named direction whose unit vector it is
    most aligned with and the cosine (signed), or None when there are none."""
    if not named:
        return [None] * len(principal)
    names = list(named)
    units = np.stack([np.asarray(named[n], np.float64) / max(np.linalg.norm(named[n]), 1e-30) for n in names])
    rows = np.asarray(principal, np.float64)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-30)
    cos = rows @ units.T
    best = np.abs(cos).argmax(axis=1)
    return [(names[j], float(cos[i, j])) for i, j in enumerate(best)]

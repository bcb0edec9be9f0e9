"""A photo into a model's latent space: find and align the face, then project it (GAN inversion).

Projection optimises z so that G(z) matches the aligned photo, as in Zhu et al. 2016, "Generative
Visual Manipulation on the Natural Image Manifold" (pixel loss plus a feature loss, from several
starts, keeping the best) and Abdal et al. 2019, "Image2StyleGAN" (Adam on the latent with a pixel
and a perceptual term). Here (docs/algorithms.md §4):

    loss(z) = mean|G(z) − x|  +  λ_f · Σ_l ‖φ_l(G(z)) − φ_l(x)‖² / ‖φ_l(x)‖²  +  λ_p · (‖z‖²/nz − 1)²

φ_l are the three layers of the fixed random-convolution feature space the metrics use
(latentlab.metrics.features): offline, the same for every model (an imported netG has no D), and
it rewards getting edges and layout right where pixels alone blur. The prior keeps z at the norm
a Gaussian latent has (√nz), where G was trained. The K restarts run as one batch: the best K of
a larger pool of random latents (or the VAE/GAN encoder's μ and K−1 jittered copies of it), then
Adam with a cosine-decayed step size; the best latent seen is kept.

One code path for the window and the CLI: `project` takes a progress callback (step, error,
current image) and a stop predicate, so a GUI worker can show the picture converge and stop it.
No Qt here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.models.common import from_uint8
from latentlab.run.grids import to_uint8

DEFAULT_STEPS = 150
DEFAULT_RESTARTS = 4


class ProjectionCancelled(Exception):
    """Raised by `project` when its stop predicate says so; nothing was changed."""


@dataclass
class ProjectionStep:
    step: int
    steps: int
    error: float  # mean absolute pixel error of the best latent so far, in grey levels (0-255)
    image: np.ndarray  # uint8 (S, S, 3): G of that latent
    z: np.ndarray  # float32 (nz,)


@dataclass
class Projection:
    z: np.ndarray  # float32 (nz,): the best latent found
    image: np.ndarray  # uint8 (S, S, 3): G(z)
    error: float  # its mean absolute pixel error against the target, grey levels
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, best error so far)
    start: str = "random"  # "random" | "encoder"
    start_error: float = float("nan")  # the best starting latent's error (the encoder's alone, for a VAE/GAN)
    seconds: float = 0.0


@dataclass
class Weights:
    feature: float = 0.5
    prior: float = 0.05
    lr: float = 0.06


def _to_float(images: np.ndarray, device) -> torch.Tensor:
    x = torch.from_numpy(np.array(images, np.uint8)).to(device)  # a copy: photos may be read-only
    if x.dim() == 3:
        x = x[None]
    return from_uint8(x)


class _Loss:
    """Per-latent losses against one target; the target's features are computed once."""

    def __init__(self, target: torch.Tensor, latent_dim: int, w: Weights):
        from latentlab.metrics.features import feature_maps

        self.phi = feature_maps
        self.x = target
        with torch.no_grad():
            self.fx = [f.detach() for f in feature_maps(target)]
        # Per target (one, or one per latent in a batch of photos): each photo's own feature energy.
        self.norms = [f.pow(2).flatten(1).mean(1).clamp_min(1e-8) for f in self.fx]
        self.nz, self.w = latent_dim, w

    def __call__(self, images: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(total loss per latent, mean absolute pixel error per latent in [-1, 1] units)."""
        images = images.clamp(-1, 1)  # what the user sees: the 2015 G has no Tanh
        pixel = (images - self.x).abs().flatten(1).mean(1)
        feats = self.phi(images)
        feature = sum((f - t).pow(2).flatten(1).mean(1) / n for f, t, n in zip(feats, self.fx, self.norms))
        prior = (z.pow(2).mean(1) - 1).pow(2)
        return pixel + self.w.feature * feature + self.w.prior * prior, pixel


def project(G: torch.nn.Module, target: np.ndarray, *, E: torch.nn.Module | None = None,
            steps: int = DEFAULT_STEPS, restarts: int = DEFAULT_RESTARTS, seed: int = 0,
            progress: Callable[[ProjectionStep], None] | None = None,
            should_stop: Callable[[], bool] | None = None, report_every: int = 5,
            weights: Weights | None = None) -> Projection:
    """The latent z whose G(z) best matches `target` (uint8 (S, S, 3), aligned like G's data).

    E: a VAE/GAN encoder: start from its μ instead of random latents. progress: called every
    `report_every` steps and at the end. should_stop: polled every step; when it returns True,
    ProjectionCancelled is raised. G and E are used read-only, in eval mode as given.
    """
    started = time.perf_counter()
    w = weights or Weights()
    steps, restarts = max(0, int(steps)), max(1, int(restarts))
    device = next(iter(G.parameters()), torch.empty(0)).device
    nz, size = int(G.latent_dim), int(G.image_size)
    target = np.asarray(target)
    if target.shape != (size, size, 3) or target.dtype != np.uint8:
        raise UserError(f"the aligned photo must be uint8 ({size}, {size}, 3) for this model (got {target.dtype} "
                        f"{target.shape})")
    x = _to_float(target, device)
    loss_fn = _Loss(x, nz, w)
    gen = torch.Generator().manual_seed(int(seed))
    stop = should_stop or (lambda: False)

    with torch.no_grad():
        if E is not None:
            mu = E(x)[0].float()
            z0 = mu.repeat(restarts, 1)
            z0[1:] += 0.3 * torch.randn(restarts - 1, nz, generator=gen).to(device)
            start = "encoder"
        else:
            # The best `restarts` of a pool of random latents: one cheap batch picks good basins.
            pool = torch.randn(max(8 * restarts, 32), nz, generator=gen).to(device)
            scores = torch.cat([loss_fn(G(p), p)[0] for p in pool.split(32)])
            z0 = pool[scores.argsort()[:restarts]]
            start = "random"
        _, pix0 = loss_fn(G(z0), z0)
    start_error = float(pix0[0 if E is not None else int(pix0.argmin())]) * 127.5

    z = z0.clone().requires_grad_(True)
    # Adam (Kingma & Ba 2015) written out: torch.optim's first use imports torch._dynamo, seconds
    # (and an import lock) that a GUI worker thread should not wait on.
    m1, m2 = torch.zeros_like(z0), torch.zeros_like(z0)
    beta1, beta2 = 0.9, 0.999
    best_loss = torch.full((restarts,), float("inf"), device=device)
    best_z, best_pix = z0.clone(), pix0.clone()
    best_img = None
    history: list[tuple[int, float]] = []

    def report(step: int, images: torch.Tensor) -> None:
        k = int(best_pix.argmin())
        err = float(best_pix[k]) * 127.5
        history.append((step, err))
        if progress is not None:
            progress(ProjectionStep(step, steps, err, to_uint8(images[k:k + 1]).cpu().numpy()[0], best_z[k].cpu().numpy().copy()))

    for step in range(1, steps + 1):
        if stop():
            raise ProjectionCancelled()
        # Cosine decay to a tenth: big moves first, then settle.
        lr = w.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / max(steps, 1))))
        with torch.enable_grad():
            images = G(z)
            total, pix = loss_fn(images, z)
            (grad,) = torch.autograd.grad(total.sum(), z)
        with torch.no_grad():
            better = total.detach() < best_loss
            best_loss = torch.where(better, total.detach(), best_loss)
            best_pix = torch.where(better, pix.detach(), best_pix)
            best_z[better] = z.detach()[better]
            if best_img is None:
                best_img = images.detach().clone()
            best_img[better] = images.detach()[better]
            m1.mul_(beta1).add_(grad, alpha=1 - beta1)
            m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = lr / (1 - beta1 ** step)
            z -= step_size * m1 / ((m2 / (1 - beta2 ** step)).sqrt() + 1e-8)
        if step % max(1, report_every) == 0 or step == steps:
            report(step, best_img)
    if stop():
        raise ProjectionCancelled()

    with torch.no_grad():
        if steps == 0:
            best_pix = pix0
        k = int(best_pix.argmin())
        zk = best_z[k:k + 1]
        image = to_uint8(G(zk)).cpu().numpy()[0]
    error = float(np.abs(image.astype(np.float64) - target.astype(np.float64)).mean())
    if steps == 0:
        history.append((0, error))
    return Projection(zk[0].float().cpu().numpy(), image, error, history, start, start_error,
                      time.perf_counter() - started)


def project_many(G: torch.nn.Module, targets: np.ndarray, *, E: torch.nn.Module | None = None,
                 steps: int = DEFAULT_STEPS, restarts: int = DEFAULT_RESTARTS, seed: int = 0, batch: int = 16,
                 progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, weights: Weights | None = None) -> list[Projection]:
    """`project` for many aligned photos at once (uint8 (N, S, S, 3)): `batch` photos × `restarts`
    latents optimise together, each against its own photo (the loss is a sum of per-latent terms,
    so they do not interact). Random starts: the best `restarts` for each photo from one shared pool
    of latents. progress(photos done, N) after each batch; should_stop() is polled every step
    (ProjectionCancelled). Returns one Projection per photo, in order (history: its final error)."""
    w = weights or Weights()
    steps, restarts = max(0, int(steps)), max(1, int(restarts))
    device = next(iter(G.parameters()), torch.empty(0)).device
    nz, size = int(G.latent_dim), int(G.image_size)
    targets = np.asarray(targets)
    if targets.ndim != 4 or targets.shape[1:] != (size, size, 3) or targets.dtype != np.uint8:
        raise UserError(f"aligned photos must be uint8 (N, {size}, {size}, 3) for this model (got {targets.dtype} "
                        f"{targets.shape})")
    stop = should_stop or (lambda: False)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        pool = torch.randn(max(8 * restarts, 32), nz, generator=gen).to(device)
        pool_images = torch.cat([G(p) for p in pool.split(32)]) if E is None else None
    out: list[Projection] = []
    for first in range(0, len(targets), max(1, int(batch))):
        started = time.perf_counter()
        chunk = targets[first:first + max(1, int(batch))]
        b = len(chunk)
        x = _to_float(chunk, device)
        with torch.no_grad():
            if E is not None:
                z0 = E(x)[0].float().repeat_interleave(restarts, 0)
                jitter = 0.3 * torch.randn(b, restarts - 1, nz, generator=gen).to(device)
                z0.view(b, restarts, nz)[:, 1:] += jitter
            else:
                picks = []
                for i in range(b):
                    scores = _Loss(x[i:i + 1], nz, w)(pool_images, pool)[0]
                    picks.append(pool[scores.argsort()[:restarts]])
                z0 = torch.cat(picks)
        loss_fn = _Loss(x.repeat_interleave(restarts, 0), nz, w)
        with torch.no_grad():
            _, pix0 = loss_fn(G(z0), z0)
        z = z0.clone()
        m1, m2 = torch.zeros_like(z0), torch.zeros_like(z0)
        best_loss = torch.full((len(z0),), float("inf"), device=device)
        best_z, best_pix = z0.clone(), pix0.clone()
        for step in range(1, steps + 1):
            if stop():
                raise ProjectionCancelled()
            lr = w.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / max(steps, 1))))
            with torch.enable_grad():
                zg = z.detach().requires_grad_(True)
                total, pix = loss_fn(G(zg), zg)
                (grad,) = torch.autograd.grad(total.sum(), zg)
            with torch.no_grad():
                better = total.detach() < best_loss
                best_loss = torch.where(better, total.detach(), best_loss)
                best_pix = torch.where(better, pix.detach(), best_pix)
                best_z[better] = z[better]
                m1.mul_(0.9).add_(grad, alpha=0.1)
                m2.mul_(0.999).addcmul_(grad, grad, value=0.001)
                z = z - lr / (1 - 0.9 ** step) * m1 / ((m2 / (1 - 0.999 ** step)).sqrt() + 1e-8)
        with torch.no_grad():
            k = best_pix.view(b, restarts).argmin(dim=1)
            zk = best_z.view(b, restarts, nz)[torch.arange(b), k]
            images = to_uint8(G(zk)).cpu().numpy()
        seconds = (time.perf_counter() - started) / b
        for i in range(b):
            error = float(np.abs(images[i].astype(np.float64) - chunk[i].astype(np.float64)).mean())
            out.append(Projection(zk[i].float().cpu().numpy(), images[i], error, [(steps, error)],
                                  "encoder" if E is not None else "random",
                                  float(pix0.view(b, restarts)[i, 0]) * 127.5, seconds))
        if progress is not None:
            progress(len(out), len(targets))
    return out


def training_error(G: torch.nn.Module, images: Sequence[np.ndarray], *, E: torch.nn.Module | None = None,
                   steps: int = DEFAULT_STEPS, restarts: int = DEFAULT_RESTARTS,
                   should_stop: Callable[[], bool] | None = None) -> float:
    """What the model reaches on images of its own training data by the same search (`project` with
    the same steps, restarts and encoder): the median error in grey levels. A photo whose error is far
    above it lies outside the faces the model knows."""
    errors = [project(G, image, E=E, steps=steps, restarts=restarts, should_stop=should_stop).error
              for image in images]
    return float(np.median(errors))


FAR_RATIO, FAR_MARGIN = 1.8, 6.0  # "far": this many times the training images' error and this many grey levels more


def far_from_training(error: float, reference: float) -> bool:
    return error > FAR_RATIO * reference and error > reference + FAR_MARGIN


# -- the model side -----------------------------------------------------------------------------
def model_convention(renderer):
    """The crop convention of the data the renderer's model was trained on."""
    from latentlab.data.align import convention, convention_for

    cfg = renderer.config
    if cfg is None or cfg.name.startswith("imported-"):
        return convention("celeba")  # the PyTorch DCGAN example trains on CelebA, centre-cropped
    return convention_for(cfg)


@dataclass
class PreparedPhoto:
    """A photo read, its faces found, and the chosen one aligned for a model."""

    path: str
    pixels: np.ndarray  # uint8 (H, W, 3): the photo as decoded (upright)
    faces: list  # latentlab.data.faces.Face, in `pixels` coordinates
    box: tuple[float, float, float, float]  # the face used, in `pixels` coordinates
    aligned: np.ndarray  # uint8 (S, S, 3)
    from_box: bool  # aligned from the box alone (no eyes found)


def prepare_photo(path: str | Path, conv, size: int, *, box=None, index: int = 0) -> PreparedPhoto:
    """Read `path`, find its faces and align face `index` (or the face in `box`, given in the file's
    own pixels) to `conv` at `size` px. UserError naming the file for every user mistake."""
    from latentlab.data.align import align_photo, read_photo

    photo = read_photo(path)
    user_box = None
    if box is not None:
        user_box = tuple(float(v) * photo.scale for v in box)
        h, w = photo.pixels.shape[:2]
        x, y, bw, bh = user_box
        if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
            shown = ",".join(f"{v:g}" for v in box)
            raise UserError(f"{path}: --box {shown} lies outside the photo ({round(w / photo.scale)}x"
                            f"{round(h / photo.scale)} px); give the face's box in the photo's own pixels")
    try:
        aligned, faces = align_photo(photo.pixels, conv, size, box=user_box, index=index)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    used = user_box if user_box is not None else faces[index].box
    return PreparedPhoto(str(path), photo.pixels, faces, used, aligned.image, aligned.from_box)


def parse_box(text: str | None):
    """'X,Y,W,H' (pixels of the photo) -> a tuple, or None."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise UserError(f"--box must be X,Y,W,H in photo pixels with W, H > 0 (got {text!r})")
    return values


def outlined(pixels: np.ndarray, box, cell: int, color=(255, 60, 60)) -> np.ndarray:
    """The photo letterboxed into a cell × cell square (grey bars), the face box drawn on it."""
    from PIL import Image, ImageDraw

    h, w = pixels.shape[:2]
    f = cell / max(h, w)
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    im = Image.fromarray(pixels).resize((nw, nh), Image.BILINEAR, reducing_gap=2.0)
    canvas = Image.new("RGB", (cell, cell), (128, 128, 128))
    ox, oy = (cell - nw) // 2, (cell - nh) // 2
    canvas.paste(im, (ox, oy))
    if box is not None:
        x, y, bw, bh = box
        ImageDraw.Draw(canvas).rectangle([ox + x * f, oy + y * f, ox + (x + bw) * f - 1, oy + (y + bh) * f - 1],
                                         outline=color, width=max(1, cell // 64))
    return np.asarray(canvas, np.uint8)


def rows_image(rows: Sequence[Sequence[np.ndarray]], cell: int) -> np.ndarray:
    """One row per photo of equal cells (each upscaled to `cell` px), 2 px white gaps between them."""
    from latentlab.inference.render import upscale
    from latentlab.run.grids import tile

    cells = []
    for row in rows:
        for image in row:
            if image.shape[0] != cell:
                image = upscale(image[None], cell, "nearest" if cell % image.shape[0] == 0 else "bicubic")[0]
            cells.append(image)
    return tile(np.stack(cells), rows=len(rows), cols=len(rows[0]), fill=255, border=False)

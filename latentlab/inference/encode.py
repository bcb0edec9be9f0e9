"""Encoding with a VAE/GAN checkpoint: photos to input | reconstruction pairs, the identity check, and
attribute vectors stored beside the checkpoint (Larsen et al. 2016, docs/algorithms.md §3). No Qt.

The vector arithmetic and the vectors file live in latentlab.latent; this module decides which
labelled images go in. Directions from two folders of photos, for every model, are latentlab.inference.api's
Model.direction_from_folders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.bounds import MAX_CELL
from latentlab.config import Config, UserError

# The one attribute-set class and its file live in latentlab.latent.attributes; these names are
# imported here for the callers that encode and store in one go.
from latentlab.latent.attributes import (  # noqa: F401
    AttributeSet,
    attributes_path,
    format_rows,
    read_attributes,
    store_attributes,
)
from latentlab.models.common import eval_module, from_uint8


# -- the model ----------------------------------------------------------------------------------
def load_encoder_model(path: str | Path):
    """A Renderer holding the checkpoint's decoder and encoder; UserError when it has no encoder."""
    from latentlab.inference.render import Renderer

    renderer = Renderer.from_checkpoint(path)
    if not renderer.has_encoder:
        arch = renderer.config.model.arch
        why = (f"it is a {arch} model" if arch != "vaegan"
               else "the file holds no encoder weights")
        raise UserError(f"{path}: has no encoder ({why}); encode needs a VAE/GAN checkpoint; for any model, "
                        f"`latentlab project {path} PHOTO... --out pairs.png` finds a photo's latent")
    return renderer


def photo_crop(cfg: Config) -> str:
    """The crop that makes a photo look like the model's training data.

    Synthetic faces are rendered whole and square, so photos are centre-cropped; an explicit
    data.crop is used as is; "auto" is resolved the way the data loader resolves it.
    """
    from latentlab.data.decode import resolve_crop
    from latentlab.data.sources import is_synthetic

    source = cfg.data.source.strip()
    if is_synthetic(source):
        return "center"
    if cfg.data.crop != "auto":
        return cfg.data.crop
    dataset = source.split(":", 1)[0] if source.split(":", 1)[0] in ("celeba", "lfw") else ""
    return resolve_crop("auto", dataset, cfg.model.arch)


# -- photos -> pairs ----------------------------------------------------------------------------
@dataclass
class EncodedPhotos:
    inputs: np.ndarray  # uint8 (n, S, S, 3): the photos as the model sees them
    reconstructions: np.ndarray  # uint8 (n, S, S, 3): Dec(mu)
    z: np.ndarray  # float32 (n, latent_dim): the encoder's mu
    names: list[str]
    crop: str
    skipped: list[str] = field(default_factory=list)  # "PATH: reason" for each unreadable photo


def encode_photos(renderer, paths: Sequence[str | Path], crop: str = "auto",
                  warn: Callable[[str], None] | None = None) -> EncodedPhotos:
    """Load each photo (EXIF rotation, grayscale, RGBA handled by load_photo), crop it like the
    model's data (or as `crop` says), encode to mu and decode. An unreadable photo is reported
    through `warn` and skipped; UserError when none could be read."""
    from latentlab.data import load_photo

    size = renderer.image_size
    crop = photo_crop(renderer.config) if crop == "auto" else crop
    photos, names, skipped = [], [], []
    for path in paths:
        try:
            photos.append(load_photo(path, size, crop))
            names.append(str(path))
        except UserError as exc:
            skipped.append(str(exc))
            if warn is not None:
                warn(f"{exc}; skipped")
    if not photos:
        raise UserError(f"none of the {len(paths)} photo(s) could be read")
    inputs = np.stack(photos)
    z = renderer.encode_mu(inputs)
    recs = renderer.render_uint8(z)
    return EncodedPhotos(inputs, recs, z, names, crop, skipped)




def check_cell(cell: int | None) -> None:
    if cell is not None and not 1 <= int(cell) <= MAX_CELL:
        raise UserError(f"cell size {cell} px: use 1 to {MAX_CELL} px")


def pairs_image(inputs: np.ndarray, reconstructions: np.ndarray, cell: int | None = None) -> np.ndarray:
    """One row per photo: input | reconstruction, each cell upscaled to `cell` px (nearest)."""
    check_cell(cell)
    from latentlab.inference.render import upscale
    from latentlab.run.grids import tile

    cells = np.stack([inputs, reconstructions], axis=1).reshape(-1, *inputs.shape[1:])
    if cell is not None and cell != inputs.shape[1]:
        cells = upscale(cells, cell, "nearest" if cell % inputs.shape[1] == 0 else "bicubic")
    return tile(cells, rows=len(inputs))


def write_pairs(encoded: EncodedPhotos, out: str | Path, cell: int | None = None) -> Path:
    from latentlab.run.grids import save_png

    return save_png(pairs_image(encoded.inputs, encoded.reconstructions, cell), out)


# -- identity -----------------------------------------------------------------------------------
def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> float (N, 3, S, S) in [-1, 1]."""
    return from_uint8(torch.from_numpy(np.ascontiguousarray(images)))


def reconstruct(G: torch.nn.Module, E: torch.nn.Module, images: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Dec(mu(x)) for uint8 images, float (N, 3, S, S) in [-1, 1] on the CPU, eval-mode nets."""
    G, E = eval_module(G), eval_module(E)
    device = next(iter(G.parameters()), torch.empty(0)).device
    x = to_float(images)
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out.append(G(E(x[i:i + batch].to(device))[0]).float().cpu())
    return torch.cat(out)


def identity_matches(G: torch.nn.Module, E: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """For each image, whether its reconstruction is closer (pixel L2) to it than to every other
    image of the set: bool (N,)."""
    x = to_float(images).flatten(1).double()
    rec = reconstruct(G, E, images).flatten(1).double()
    dist = torch.cdist(rec, x)  # (N reconstructions, N inputs)
    return (dist.argmin(dim=1) == torch.arange(len(x))).numpy()


def identity_rate(G: torch.nn.Module, E: torch.nn.Module, images: np.ndarray) -> float:
    """The fraction of images whose reconstruction is nearest to their own input (chance: 1/N)."""
    return float(identity_matches(G, E, images).mean())


# -- attribute vectors from a labelled source -----------------------------------------------------
def _source_images(spec: str, renderer, crop: str, cfg: Config, progress=None):
    from latentlab.data import open_source

    same = spec.strip() == cfg.data.source.strip()
    return open_source(spec, renderer.image_size, crop=crop, arch=cfg.model.arch,
                       synthetic_count=cfg.data.synthetic_count if same else 20000, holdout=0,
                       cache_dir=cfg.data.cache_dir or None, progress=progress, align=cfg.data.align)


def attributes_from_labels(renderer, spec: str, names: list[str] | None = None, max_images: int = 2000,
                           progress=None) -> AttributeSet:
    """Vectors for the labels of a source (the synthetic faces' factors, CelebA's 40 attributes).
    names: only these; each must exist and have positive and negative examples (UserError naming
    it otherwise). Without names every label is tried and the unusable ones are noted and skipped."""
    from latentlab.latent import attribute_vectors

    cfg = renderer.config
    same = spec.strip() == cfg.data.source.strip()
    data = _source_images(spec, renderer, photo_crop(cfg) if not same else cfg.data.crop, cfg, progress)
    if not data.labels:
        raise UserError(f"data source {spec}: has no attribute labels; use --with DIR --without DIR instead")
    return attribute_vectors(renderer.E, data.images, data.labels, names=names or None, max_images=max_images,
                             source=spec)

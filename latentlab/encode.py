"""Encoding with a VAE/GAN checkpoint: photos to input | reconstruction pairs, the identity check, and
attribute vectors stored beside the checkpoint (Larsen et al. 2016, docs/algorithms.md §3). No Qt.

The vector arithmetic and the vectors file format live in latentlab.latent; this module decides
which images go in (a labelled source, or two folders), where the file goes and what it records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.bounds import MAX_CELL
from latentlab.config import Config, UserError

ATTRIBUTES_SUFFIX = ".attributes.safetensors"


# -- the model ----------------------------------------------------------------------------------
def load_encoder_model(path: str | Path):
    """A Renderer holding the checkpoint's decoder and encoder; UserError when it has no encoder."""
    from latentlab.render import Renderer

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
    from latentlab.data.cache import resolve_crop
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
    from latentlab.render import upscale
    from latentlab.run.grids import tile

    cells = np.stack([inputs, reconstructions], axis=1).reshape(-1, *inputs.shape[1:])
    if cell is not None and cell != inputs.shape[1]:
        cells = upscale(cells, cell, "nearest" if cell % inputs.shape[1] == 0 else "bicubic")
    return tile(cells, rows=len(inputs))


def write_pairs(encoded: EncodedPhotos, out: str | Path, cell: int | None = None) -> Path:
    from latentlab.run.grids import save_png

    return save_png(pairs_image(encoded.inputs, encoded.reconstructions, cell), out)


# -- identity -----------------------------------------------------------------------------------
def _eval_copy(net: torch.nn.Module) -> torch.nn.Module:
    # A net in training mode may belong to a live Trainer: never disturb its BatchNorm statistics.
    return copy.deepcopy(net).eval() if net.training else net


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> float (N, 3, S, S) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


def reconstruct(G: torch.nn.Module, E: torch.nn.Module, images: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Dec(mu(x)) for uint8 images, float (N, 3, S, S) in [-1, 1] on the CPU, eval-mode nets."""
    G, E = _eval_copy(G), _eval_copy(E)
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


# -- attribute vectors --------------------------------------------------------------------------
def attributes_path(checkpoint: str | Path) -> Path:
    """CKPT.safetensors -> CKPT.attributes.safetensors, in the same folder."""
    p = Path(checkpoint)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return p.with_name(stem + ATTRIBUTES_SUFFIX)


@dataclass
class AttributeSet:
    vectors: dict[str, np.ndarray]  # name -> float32 (latent_dim,)
    counts: dict[str, tuple[int, int]]  # name -> (images with, images without)
    sources: dict[str, str]  # name -> where its images came from
    notes: list[str] = field(default_factory=list)
    # name -> distance between the two groups' mean latents, in standard deviations along the vector
    separations: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, int, int, float, float | None]]:
        """(name, with, without, norm, separation or None) for listing."""
        return [(n, *self.counts.get(n, (0, 0)), float(np.linalg.norm(v)), self.separations.get(n))
                for n, v in self.vectors.items()]


def read_attributes(checkpoint: str | Path) -> AttributeSet | None:
    """The vectors stored beside a checkpoint, or None when there are none."""
    from latentlab.latent import load_attributes

    path = attributes_path(checkpoint)
    if not path.is_file():
        return None
    vectors, meta = load_attributes(path)
    counts = {k: (int(v[0]), int(v[1])) for k, v in meta.get("counts", {}).items()}
    separations = {k: float(v) for k, v in meta.get("separations", {}).items()}
    return AttributeSet(vectors, counts, dict(meta.get("sources", {})), separations=separations)


def store_attributes(checkpoint: str | Path, new: AttributeSet, replace: bool = False) -> Path:
    """Write `new` beside the checkpoint (atomically: temporary file + rename). Vectors already
    stored under other names are kept unless `replace`; the same name is overwritten."""
    from latentlab.latent import save_attributes

    old = None if replace else read_attributes(checkpoint)
    merged = AttributeSet({}, {}, {})
    for part in (old, new):
        if part is not None:
            merged.vectors.update(part.vectors)
            merged.counts.update(part.counts)
            merged.sources.update(part.sources)
            merged.separations.update(part.separations)
    meta = {"checkpoint": Path(checkpoint).name,
            "counts": {k: list(v) for k, v in merged.counts.items() if k in merged.vectors},
            "sources": {k: v for k, v in merged.sources.items() if k in merged.vectors},
            "separations": {k: v for k, v in merged.separations.items() if k in merged.vectors},
            "method": "mean encoder mu with the attribute minus mean without (Larsen et al. 2016), "
                      "scaled to the standard deviation of the latents along it"}
    path = attributes_path(checkpoint)
    save_attributes(path, merged.vectors, meta)
    return path


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
    vecs = attribute_vectors(renderer.E, data.images, data.labels, names=names or None, max_images=max_images)
    return AttributeSet(dict(vecs), {k: vecs.counts[k] for k in vecs}, {k: spec for k in vecs}, list(vecs.notes),
                        dict(vecs.separations))


def attribute_from_folders(renderer, name: str, with_dir: str, without_dir: str, max_images: int = 2000,
                           progress=None) -> AttributeSet:
    """One vector from two folders of photos (or .zip files): mean mu(with) − mean mu(without)."""
    from latentlab.latent import attribute_vectors

    if not name or not name.strip():
        raise UserError("--name: give the attribute a name (e.g. --name smiling)")
    cfg = renderer.config
    crop = photo_crop(cfg)
    parts = []
    for flag, folder in (("--with", with_dir), ("--without", without_dir)):
        try:
            data = _source_images(folder, renderer, crop, cfg, progress)
        except UserError as exc:
            raise UserError(f"attribute {name!r}: {flag} {folder}: {exc}") from None
        images = np.asarray(data.images)
        if len(images) > max_images:  # evenly spaced, so the choice is deterministic
            images = images[np.linspace(0, len(images) - 1, max_images).round().astype(np.int64)]
        parts.append(images)
    labels = {name: np.concatenate([np.ones(len(parts[0]), bool), np.zeros(len(parts[1]), bool)])}
    vecs = attribute_vectors(renderer.E, np.concatenate(parts), labels, names=[name], max_images=None)
    if name not in vecs:
        raise UserError(f"attribute {name!r}: {'; '.join(vecs.notes)}")
    return AttributeSet(dict(vecs), {name: vecs.counts[name]}, {name: f"with {with_dir} / without {without_dir}"},
                        separations=dict(vecs.separations))


def format_rows(attrs: AttributeSet) -> list[str]:
    rows = attrs.rows()
    width = max([len("attribute")] + [len(r[0]) for r in rows])
    out = [f"{'attribute':{width}s}  {'with':>6s}  {'without':>7s}  {'norm':>7s}  {'separation':>10s}"]
    for name, pos, neg, norm, sep in rows:
        out.append(f"{name:{width}s}  {pos:6d}  {neg:7d}  {norm:7.3f}  {'-' if sep is None else f'{sep:.2f} sd':>10s}")
    return out

"""latentlab from Python: load a model, sample, project or encode photos, edit along named directions.

    import latentlab
    m = latentlab.load("runs/tiny/checkpoints/best.safetensors")
    faces = m.sample(16, seed=0)              # faces.z (16, nz), faces.images uint8 (16, S, S, 3)
    found = m.project("me.jpg")               # any model: the face found, aligned and projected
    smiling = m.render(m.edit(found.z, smile=2, keep=["glasses"]))
    smiling.pil()[0].save("me-smiling.png")

The `latentlab edit`, `walk --direction` and `attributes --with/--without` commands are built on
this module. Images are uint8 numpy arrays (N, S, S, 3); `Faces.pil()` gives PIL images. Photos may
be given as file paths, PIL images or uint8 arrays (H, W, 3). No Qt.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.config import UserError
from latentlab.latent.attributes import AttributeSet, attributes_path, read_attributes, store_attributes

PROJECTION_CACHE_VERSION = 1
ENCODER_REFINE_STEPS = 50  # a VAE/GAN's encoder starts near the answer: a third of a projection's steps


@dataclass
class Faces:
    """Latents and the faces they render: z float32 (N, nz), images uint8 (N, S, S, 3). `errors`:
    for projected photos, each one's mean absolute pixel error (grey levels); `inputs`: the aligned
    photos that were projected or encoded."""

    z: np.ndarray
    images: np.ndarray
    errors: np.ndarray | None = None
    inputs: np.ndarray | None = None
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.z)

    def pil(self) -> list:
        from PIL import Image

        return [Image.fromarray(image) for image in self.images]


@dataclass
class Direction:
    """A named direction: `vector` float32 (nz,) (±1 moves one standard deviation of its latents),
    how it was made (`kind`: encoder | folders | taught), its labels' `counts` (with, without) and
    held-out `accuracy` (None for encoder vectors)."""

    name: str
    vector: np.ndarray
    kind: str
    counts: tuple[int, int]
    accuracy: float | None
    source: str


def load(path: str | os.PathLike, device: str = "cpu") -> Model:
    """A latentlab checkpoint (any model: DCGAN, the 2015 GAN, an imported netG, a VAE/GAN) with
    the named directions stored beside it. UserError for a missing or foreign file."""
    from latentlab.inference.render import Renderer

    return Model(Renderer.from_checkpoint(path, device=device))


class Model:
    """A generator (and a VAE/GAN's encoder) ready for inference, with its named directions."""

    def __init__(self, renderer, checkpoint: str | os.PathLike | None = None):
        self.renderer = renderer
        self.checkpoint = Path(checkpoint) if checkpoint is not None else renderer.path
        self._attributes: AttributeSet | None = None
        self._digest: str | None = None

    @classmethod
    def from_modules(cls, G: torch.nn.Module, E: torch.nn.Module | None = None) -> Model:
        """A Model of networks in memory (G needs `latent_dim` and `image_size` attributes)."""
        from latentlab.inference.render import Renderer

        return cls(Renderer(G, E))

    # -- what it is ------------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.renderer.latent_dim

    @property
    def image_size(self) -> int:
        return self.renderer.image_size

    @property
    def has_encoder(self) -> bool:
        return self.renderer.has_encoder

    @property
    def arch(self) -> str:
        cfg = self.renderer.config
        return cfg.model.arch if cfg is not None else "generator"

    @property
    def attributes(self) -> AttributeSet:
        """Every named direction with what is known of it (read from CKPT.attributes.safetensors)."""
        if self._attributes is None:
            found = read_attributes(self.checkpoint) if self.checkpoint is not None else None
            self._attributes = found or AttributeSet()
            bad = [n for n, v in self._attributes.vectors.items() if v.shape != (self.latent_dim,)]
            if bad:
                raise UserError(f"{attributes_path(self.checkpoint)}: direction {bad[0]!r} has "
                                f"{self._attributes.vectors[bad[0]].size} values, the model's latent size is "
                                f"{self.latent_dim}")
        return self._attributes

    @property
    def directions(self) -> dict[str, Direction]:
        a = self.attributes
        return {n: Direction(n, v, a.kind(n), a.counts.get(n, (0, 0)), a.accuracies.get(n), a.sources.get(n, ""))
                for n, v in a.vectors.items()}

    def direction(self, name: str) -> np.ndarray:
        """The vector of direction `name`; UserError listing the known names otherwise."""
        if name not in self.attributes:
            known = ", ".join(sorted(self.attributes)) or "none stored"
            hint = "" if self.attributes else ("; make one with `latentlab attributes CKPT --with DIR --without DIR "
                                               "--name NAME` or Explore › Directions › Teach…")
            raise UserError(f"unknown direction {name!r}; this model has: {known}{hint}")
        return self.attributes[name]

    # -- latents to faces ------------------------------------------------------------------------
    def latents(self, n: int, seed: int = 0) -> np.ndarray:
        """n latents from `seed`, float32 (n, nz): the ones `latentlab sample --seed` draws."""
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(int(n), self.latent_dim, generator=gen).numpy()

    def render(self, z, truncation: float = 1.0) -> Faces:
        """G(ψ·z) for latents (N, nz) or (nz,)."""
        from latentlab.latent import truncate

        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        z = np.asarray(truncate(z, truncation), np.float32)
        return Faces(z, self.renderer.render_uint8(z))

    def sample(self, n: int = 16, seed: int = 0, truncation: float = 1.0) -> Faces:
        """n random faces; the same seed gives the same faces as `latentlab sample`."""
        return self.render(self.latents(n, seed), truncation)

    # -- photos to latents -----------------------------------------------------------------------
    def align(self, photos, align: bool = True) -> tuple[np.ndarray, list[str]]:
        """Photos (paths, PIL images or uint8 arrays; one or a list) as the model's input: the face
        found and aligned like the training data (align=True), or cropped like it (align=False)."""
        from latentlab.inference.encode import photo_crop
        from latentlab.inference.photo import model_convention

        items = photos if isinstance(photos, (list, tuple)) else [photos]
        out, names = [], []
        size = self.image_size
        for i, item in enumerate(items):
            name = str(item) if isinstance(item, (str, os.PathLike)) else f"photo {i + 1}"
            pixels = _pixels(item)
            if align:
                from latentlab.data.align import align_photo

                try:
                    aligned, _ = align_photo(pixels, model_convention(self.renderer), size)
                except UserError as exc:
                    raise UserError(f"{name}: {exc}") from None
                out.append(aligned.image)
            else:
                crop = photo_crop(self.renderer.config) if self.renderer.config is not None else "center"
                out.append(_crop(pixels, size, crop, name))
            names.append(name)
        return np.stack(out), names

    def encode(self, photos, align: bool = False) -> Faces:
        """A VAE/GAN's encoder μ of photos and their reconstructions (photos cropped like the
        training data unless align=True). UserError for a model without an encoder."""
        if not self.has_encoder:
            raise UserError(f"this {self.arch} model has no encoder (only a VAE/GAN has one); use project()")
        inputs, names = self.align(photos, align)
        z = self.renderer.encode_mu(inputs)
        return Faces(z, self.renderer.render_uint8(z), inputs=inputs, names=names)

    def project(self, photos, *, align: bool = True, steps: int | None = None, restarts: int | None = None,
                seed: int = 0, cache: bool = True, progress: Callable[[int, int], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> Faces:
        """The latents whose faces best match the photos (GAN inversion, batched; a VAE/GAN starts from
        its encoder and refines). Results are cached per model and photo, so projecting the same
        photos again is fast. progress(done, total) per batch."""
        inputs, names = self.align(photos, align) if not _aligned(photos, self.image_size) else \
            (np.asarray(photos, np.uint8), [f"photo {i + 1}" for i in range(len(photos))])
        return self.project_aligned(inputs, steps=steps, restarts=restarts, seed=seed, cache=cache,
                                    progress=progress, should_stop=should_stop, names=names)

    def project_aligned(self, inputs: np.ndarray, *, steps=None, restarts=None, seed: int = 0, cache: bool = True,
                        progress=None, should_stop=None, names: list[str] | None = None, batch: int = 16) -> Faces:
        """project() for photos already aligned: uint8 (N, S, S, 3)."""
        from latentlab.inference.photo import DEFAULT_RESTARTS, DEFAULT_STEPS, project_many

        steps = DEFAULT_STEPS if steps is None else int(steps)
        restarts = DEFAULT_RESTARTS if restarts is None else int(restarts)
        inputs = np.asarray(inputs, np.uint8)
        n = len(inputs)
        z = np.zeros((n, self.latent_dim), np.float32)
        errors = np.zeros(n, np.float32)
        keys = [self._cache_key(image, steps, restarts, seed) for image in inputs] if cache else [None] * n
        todo = []
        for i, key in enumerate(keys):
            hit = _cache_read(key, self.latent_dim) if key else None
            if hit is None:
                todo.append(i)
            else:
                z[i], errors[i] = hit
        if progress is not None and n - len(todo):
            progress(n - len(todo), n)
        for first in range(0, len(todo), batch):
            part = todo[first:first + batch]
            found = project_many(self.renderer.G, inputs[part], E=self.renderer.E, steps=steps, restarts=restarts,
                                 seed=seed, batch=batch, should_stop=should_stop)
            for i, result in zip(part, found):
                z[i], errors[i] = result.z, result.error
                if keys[i]:
                    _cache_write(keys[i], result.z, result.error)
            if progress is not None:
                progress(n - len(todo) + first + len(part), n)
        return Faces(z, self.renderer.render_uint8(z), errors=errors, inputs=inputs,
                     names=names or [f"photo {i + 1}" for i in range(n)])

    def _cache_key(self, image: np.ndarray, steps: int, restarts: int, seed: int) -> str:
        if self._digest is None:
            h = hashlib.sha1()
            for net in (self.renderer.G, self.renderer.E):
                for key, value in (net.state_dict().items() if net is not None else ()):
                    h.update(key.encode())
                    h.update(value.detach().cpu().contiguous().numpy().tobytes())
            self._digest = h.hexdigest()[:20]
        h = hashlib.sha1(np.ascontiguousarray(image).tobytes())
        h.update(f"{image.shape}|{steps}|{restarts}|{seed}|{PROJECTION_CACHE_VERSION}".encode())
        return f"{self._digest}/{h.hexdigest()[:24]}"

    # -- editing ---------------------------------------------------------------------------------
    def edit(self, z, keep: Iterable[str] = (), **amounts: float) -> np.ndarray:
        """z + Σ amount · direction, for named directions given as keywords (m.edit(z, smile=2)).
        keep: directions whose linear scores must not change: each direction moved along is first
        projected off them (conditional editing, Shen et al. 2020). Returns float32 like z's shape."""
        return self.edit_by(z, amounts, keep)

    def edit_by(self, z, amounts: dict[str, float], keep: Iterable[str] = ()) -> np.ndarray:
        """edit() for names that are not Python identifiers: amounts = {"big smile": 1.5}."""
        from latentlab.latent.classify import conditional

        z = np.asarray(z, np.float32)
        flat = z.reshape(-1, self.latent_dim).copy()
        keep = list(keep)
        kept = [self.direction(k) for k in keep]
        for name, amount in amounts.items():
            v = self.direction(name)
            others = [vec for k, vec in zip(keep, kept) if k != name]
            flat += float(amount) * conditional(v, others)
        return flat.reshape(z.shape)

    def walk(self, direction: str, start=None, *, start_amount: float = -3.0, end_amount: float = 3.0,
             frames: int = 9, keep: Iterable[str] = ()) -> Faces:
        """Faces along a direction from one latent: start + t·direction for `frames` values of t from
        start_amount to end_amount. start: a latent (nz,), a seed (int), or None (seed 0)."""
        if int(frames) < 2:
            raise UserError(f"a walk needs at least 2 frames (got {frames})")
        base = self.latents(1, 0)[0] if start is None else (
            self.latents(1, start)[0] if isinstance(start, (int, np.integer)) else np.asarray(start, np.float32))
        ts = np.linspace(float(start_amount), float(end_amount), int(frames))
        return self.render(np.stack([self.edit_by(base, {direction: t}, keep) for t in ts]))

    # -- naming directions -----------------------------------------------------------------------
    def teach(self, z, labels):
        """A direction from labelled latents (True: has the attribute): the normal of a logistic
        regression, with its held-out accuracy (a latentlab.latent.classify.Fit). Store it with
        save_direction()."""
        from latentlab.latent.classify import fit_direction

        return fit_direction(z, labels)

    def save_direction(self, name: str, fit, *, kind: str = "taught", source: str = "") -> Path:
        """Store a fitted direction beside the checkpoint under `name` (replacing one of that name)."""
        from latentlab.latent.attributes import check_name

        if self.checkpoint is None:
            raise UserError("this model was not loaded from a checkpoint: there is nowhere to store directions")
        name = check_name(name)
        new = AttributeSet()
        new.add(name, fit.vector, counts=fit.counts, source=source, kind=kind, accuracy=fit.accuracy,
                separation=fit.separation)
        path = store_attributes(self.checkpoint, new)
        self._attributes = None
        return path

    def direction_from_folders(self, name: str, with_dir: str, without_dir: str, *, max_images: int = 2000,
                               steps: int | None = None, restarts: int | None = None,
                               progress: Callable[[str, int, int], None] | None = None,
                               should_stop: Callable[[], bool] | None = None):
        """A direction from two folders of photos (cropped like the training data): each photo
        projected into the model (a VAE/GAN: its encoder, then refined), then a classifier between the
        two groups. steps: of each projection (default 150; 50 when refining an encoder's μ).
        progress(folder flag, done, total). Returns the Fit (store it with save_direction)."""
        from latentlab.latent.attributes import check_name
        from latentlab.latent.classify import fit_direction

        name = check_name(name)
        if steps is None and self.has_encoder:
            steps = ENCODER_REFINE_STEPS
        groups = []
        for flag, folder in (("--with", with_dir), ("--without", without_dir)):
            try:
                images = folder_images(folder, self, max_images)
            except UserError as exc:
                raise UserError(f"direction {name!r}: {flag} {folder}: {exc}") from None
            report = None if progress is None else (lambda done, total, flag=flag: progress(flag, done, total))
            groups.append(self.project_aligned(images, steps=steps, restarts=restarts, progress=report,
                                               should_stop=should_stop).z)
        labels = np.r_[np.ones(len(groups[0]), bool), np.zeros(len(groups[1]), bool)]
        return fit_direction(np.concatenate(groups), labels)


def folder_images(folder: str, model: Model, max_images: int) -> np.ndarray:
    """A folder (or .zip) of photos as uint8 (N, S, S, 3), cropped like the model's training data
    (through the data cache); at most max_images, evenly spaced (deterministic)."""
    from latentlab.data import open_source
    from latentlab.inference.encode import photo_crop

    cfg = model.renderer.config
    crop = photo_crop(cfg) if cfg is not None else "center"
    data = open_source(folder, model.image_size, crop=crop, arch=cfg.model.arch if cfg is not None else "dcgan",
                       holdout=0, cache_dir=(cfg.data.cache_dir or None) if cfg is not None else None,
                       progress=lambda *_: None)
    images = np.asarray(data.images)
    if len(images) > max_images:
        images = images[np.linspace(0, len(images) - 1, max_images).round().astype(np.int64)]
    return images


# -- photos ---------------------------------------------------------------------------------------
def _aligned(photos, size: int) -> bool:
    return isinstance(photos, np.ndarray) and photos.ndim == 4 and photos.shape[1:] == (size, size, 3)


def _pixels(item) -> np.ndarray:
    if isinstance(item, (str, os.PathLike)):
        from latentlab.data.align import read_photo

        return read_photo(item).pixels
    if hasattr(item, "convert"):  # a PIL image
        return np.asarray(item.convert("RGB"), np.uint8)
    arr = np.asarray(item)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise UserError(f"a photo must be a path, a PIL image or uint8 (H, W, 3) (got {arr.dtype} {arr.shape})")
    return arr


def _crop(pixels: np.ndarray, size: int, crop: str, name: str) -> np.ndarray:
    import io

    from PIL import Image

    from latentlab.data.decode import BadImage, decode

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    try:
        return decode(buf.getvalue(), size, crop)
    except BadImage as exc:
        raise UserError(f"{name}: {exc}") from None


# -- the projection cache: one small .npy per (model weights, aligned photo, settings) -------------
def _cache_file(key: str) -> Path:
    from latentlab.data import default_cache_dir

    return default_cache_dir() / "projections" / f"{key}.npy"


def _cache_read(key: str, latent_dim: int) -> tuple[np.ndarray, float] | None:
    try:
        row = np.load(_cache_file(key), allow_pickle=False)
    except (OSError, ValueError):
        return None
    if row.shape != (latent_dim + 1,) or not np.isfinite(row).all():
        return None
    return row[:-1].astype(np.float32), float(row[-1])


def _cache_write(key: str, z: np.ndarray, error: float) -> None:
    from latentlab.atomic import write_with

    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        row = np.append(np.asarray(z, np.float32), np.float32(error))

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a temporary name
                np.save(f, row, allow_pickle=False)

        write_with(path, write)
    except OSError:
        pass  # an unwritable cache only costs a projection next time


def rows_of(*columns: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
    """Columns of images -> rows (one per photo) for latentlab.inference.photo.rows_image."""
    return [list(row) for row in zip(*columns)]

"""Where the Explore panel's generators come from: checkpoints, imported PyTorch DCGANs, the live trainer.

No Qt here: every function runs on the render worker's thread and returns a ModelInfo (a Renderer plus
what the panel needs to build its sliders), or raises UserError with the reason. Principal directions
are cached per checkpoint file in the cache folder; a `<stem>.principal.safetensors` or
`<stem>.attributes.safetensors` beside a checkpoint is used as shipped.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.config import UserError
from latentlab.gui.state.events import ChangeModel

PRINCIPAL_SAMPLES = 2000
PRINCIPAL_COMPONENTS = 20


@dataclass
class ModelInfo:
    renderer: object  # latentlab.inference.render.Renderer
    label: str  # one line for the panel: what is loaded
    kind: str  # checkpoint | import | live
    arch: str
    latent_dim: int
    image_size: int
    step: int | None = None
    path: Path | None = None
    model_config: object | None = None  # ModelConfig
    data_source: str | None = None  # the training source, for "pick a training image"
    data_crop: str = "center"
    synthetic_count: int = 0
    holdout: int = 0
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    attribute_counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (with, without)
    attribute_set: object | None = None  # the latentlab.latent.AttributeSet read (kinds, accuracies), if any
    principal: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (directions (k, nz), stddevs, explained (k,))
    principal_cache: Path | None = None  # where computed directions are kept (None: not cached)
    generator: object | None = None  # a CPU eval G of its own, for computing principal directions
    generation: int = 0  # set by the render worker: requests name the model they were made for

    @property
    def has_encoder(self) -> bool:
        return bool(getattr(self.renderer, "has_encoder", False))

    def display_label(self) -> str:
        """What is loaded, with the live generator's current step (its weights are refreshed)."""
        if self.kind != "live":
            return self.label
        step = f" · step {self.step:,}" if self.step is not None else ""
        return self.label.split(" · step")[0] + step


MODEL, WEIGHTS = "model", "weights"


class ModelSlot(ChangeModel):
    """The model on screen: announces MODEL when another one arrives (`previous`, while listeners
    are called, is the one it replaced) and WEIGHTS when the live generator's weights were swapped in place (a new step)."""

    def __init__(self):
        super().__init__()
        self.info: ModelInfo | None = None
        self.previous: ModelInfo | None = None

    def set(self, info: ModelInfo) -> None:
        self.previous, self.info = self.info, info
        try:
            self.notify(MODEL)
        finally:
            self.previous = None  # listeners had their look; the old model's memory goes now

    def set_step(self, step: int | None) -> None:
        self.info.step = step
        self.notify(WEIGHTS)


def pick_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def sidecar(path: Path, kind: str) -> Path:
    """vaegan32.safetensors -> vaegan32.<kind>.safetensors"""
    return path.with_name(f"{path.stem}.{kind}.safetensors")


def principal_cache_path(path: Path) -> Path:
    """One cache file per checkpoint contents (path, size, mtime): a rewritten latest.safetensors
    gets fresh directions instead of stale ones."""
    from latentlab.data import default_cache_dir

    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{PRINCIPAL_SAMPLES}|{PRINCIPAL_COMPONENTS}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:20]
    return default_cache_dir() / "directions" / f"{path.stem}-{digest}.principal.safetensors"


def _load_principal(*candidates: Path, latent_dim: int):
    from latentlab.latent import load_principal

    for candidate in candidates:
        if candidate is None or not candidate.is_file():
            continue
        try:
            directions, stddevs, explained, _ = load_principal(candidate)
        except UserError:
            continue  # a damaged cache is recomputed, not fatal
        if directions.ndim == 2 and directions.shape[1] == latent_dim:
            return directions, stddevs, explained
    return None


def save_principal_cache(info: ModelInfo, directions: np.ndarray, stddevs: np.ndarray, explained: np.ndarray) -> None:
    from latentlab.latent import save_principal

    if info.principal_cache is None:
        return
    try:
        info.principal_cache.parent.mkdir(parents=True, exist_ok=True)
        save_principal(info.principal_cache, directions, stddevs, explained,
                       meta={"checkpoint": str(info.path), "samples": PRINCIPAL_SAMPLES})
    except (OSError, UserError):
        pass  # an unwritable cache only costs a recomputation next time


def _attributes_of(path: Path, latent_dim: int):
    """The attribute vectors stored beside the checkpoint (`latentlab attributes` and Teach… write
    them): (name -> vector, name -> (with, without), the AttributeSet or None)."""
    from latentlab.latent.attributes import attributes_path, read_attributes

    found = read_attributes(path)
    if found is None:
        return {}, {}, None
    bad = [name for name, v in found.vectors.items() if v.shape != (latent_dim,)]
    if bad:
        raise UserError(f"{attributes_path(path)}: attribute {bad[0]!r} has shape {found.vectors[bad[0]].shape}, "
                        f"the model's latent size is {latent_dim}")
    return found.vectors, found.counts, found


def _own_eval_copy(G):
    import copy

    return copy.deepcopy(G).cpu().eval().requires_grad_(False)


def _renderer(G, E, device: str | None, threads: int | None):
    """The window's Renderer: torch at once, ONNX Runtime for single images once its export,
    started here on its own thread, is done (the first picture does not wait for it)."""
    from latentlab.inference.render import Renderer

    renderer = Renderer(G, E, device=device or pick_device(), threads=threads)
    renderer.enable_fast_path(background=True)
    return renderer


def load_checkpoint_model(path: str | os.PathLike, device: str | None = None, threads: int | None = 1) -> ModelInfo:
    """A latentlab checkpoint (EMA generator preferred). UserError for a missing, damaged, foreign or
    wrong-architecture file, naming the first mismatching key."""
    from latentlab.run.checkpoint import load_model

    path = Path(path)
    if path.suffix.lower() in (".pth", ".pt"):
        raise UserError(f"{path}: a PyTorch file; use File › Import PyTorch DCGAN netG.pth… for those")
    loaded = load_model(path, device="cpu")
    cfg = loaded.config
    m = cfg.model
    renderer = _renderer(loaded.G, loaded.E, device, threads)
    renderer.config, renderer.step, renderer.path = cfg, loaded.step, path
    cache = principal_cache_path(path)
    attributes, counts, described = _attributes_of(path, m.latent_dim)
    info = ModelInfo(
        renderer=renderer, label=f"{path.name} · {m.arch} {m.image_size} px · step {loaded.step:,}",
        kind="checkpoint", arch=m.arch, latent_dim=m.latent_dim, image_size=m.image_size, step=loaded.step,
        path=path, model_config=m, data_source=cfg.data.source, data_crop=cfg.data.crop,
        synthetic_count=cfg.data.synthetic_count, holdout=cfg.data.holdout,
        attributes=attributes, attribute_counts=counts, attribute_set=described,
        principal=_load_principal(sidecar(path, "principal"), cache, latent_dim=m.latent_dim),
        principal_cache=cache, generator=loaded.G)
    return info


def import_dcgan_model(path: str | os.PathLike, nz: int = 100, ngf: int = 64, device: str | None = None,
                       threads: int | None = 1) -> ModelInfo:
    """A PyTorch DCGAN-example netG.pth. UserError naming the first missing or mismatching key."""
    from latentlab.models.dcgan_import import import_dcgan_file

    path = Path(path)
    m, G = import_dcgan_file(path, nz=nz, ngf=ngf)
    renderer = _renderer(G, None, device, threads)
    # Directions taught on it are stored as netG.attributes.safetensors beside the file.
    attributes, counts, described = _attributes_of(path, m.latent_dim)
    return ModelInfo(renderer=renderer, label=f"{path.name} · imported DCGAN {m.image_size} px (nz {nz}, ngf {ngf})",
                     kind="import", arch=m.arch, latent_dim=m.latent_dim, image_size=m.image_size, path=path,
                     model_config=m, generator=_own_eval_copy(G), attributes=attributes, attribute_counts=counts,
                     attribute_set=described)


def live_model(model_config, states: dict, step: int, data_config=None, device: str | None = None,
               threads: int | None = 1) -> ModelInfo:
    """The generator (and encoder) being trained, from CPU state dicts copied on the training thread."""
    import torch

    from latentlab.models import build_encoder, build_generator
    from latentlab.run.checkpoint import load_net

    with torch.random.fork_rng(devices=[]):  # the weights are replaced; leave the global RNG alone
        G = build_generator(model_config)
        E = build_encoder(model_config) if "E" in states else None
    load_net(G, states["G"], "G", "live generator")
    if E is not None:
        load_net(E, states["E"], "E", "live encoder")
    renderer = _renderer(G, E, device, threads)
    m = model_config
    d = data_config
    return ModelInfo(renderer=renderer, label=f"live training · {m.arch} {m.image_size} px · step {step:,}",
                     kind="live", arch=m.arch, latent_dim=m.latent_dim, image_size=m.image_size, step=step,
                     model_config=m, data_source=getattr(d, "source", None), data_crop=getattr(d, "crop", "center"),
                     synthetic_count=getattr(d, "synthetic_count", 0), holdout=getattr(d, "holdout", 0),
                     generator=_own_eval_copy(G))


def training_image(info: ModelInfo, index: int) -> np.ndarray:
    """Image `index` of the model's training source at its resolution, uint8 (S, S, 3)."""
    if not info.data_source:
        raise UserError("this model does not record its training data (imported generators don't)")
    if info.data_source == "synthetic":
        from latentlab.data.synthetic import render_face

        count = info.synthetic_count or index + 1
        if not 0 <= index < count:
            raise UserError(f"the synthetic set of this model has images 0..{count - 1} (asked for {index})")
        return render_face(index, info.image_size)[0]
    from latentlab.data import open_source

    images = open_source(info.data_source, info.image_size, crop=info.data_crop, arch=info.arch,
                         holdout=info.holdout).images
    if not 0 <= index < len(images):
        raise UserError(f"{info.data_source} has images 0..{len(images) - 1} (asked for {index})")
    return np.array(images[index])


def load_photo_for(info: ModelInfo, path: str | os.PathLike) -> np.ndarray:
    """A photo file cropped the way the model's data was and resized to its resolution."""
    from latentlab.data import load_photo

    crop = info.data_crop if info.data_crop in ("celeba148", "lfw150", "none") else "center"
    return load_photo(path, info.image_size, crop=crop)


def live_states_from_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint of the run being followed, in the shape of the engine's weights Event (Control.request_weights)."""
    from latentlab.run.checkpoint import config_from_meta, read_checkpoint, split_prefix

    tensors, meta = read_checkpoint(path)
    cfg = config_from_meta(meta, where=str(path))
    states = {"G": split_prefix(tensors, "G_ema") or split_prefix(tensors, "G")}
    encoder = split_prefix(tensors, "E")
    if encoder:
        states["E"] = encoder
    return {"step": int(meta.get("step", 0)), "model": cfg.model, "data": cfg.data, "states": states}

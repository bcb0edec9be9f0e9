"""Configuration: dataclasses, presets, TOML load/save and validation with clear errors.

Imports the standard library only, so every layer (and a cluster node without Qt) can use it.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentlab.bounds import CONFIG as CONFIG_BOUNDS
from latentlab.resources import preset_dir

ARCHS = ("dcgan", "torchgan2015", "vaegan")
VAE_UPSAMPLINGS = ("convT5", "convT4", "resize")  # the VAE/GAN decoder's upsampling (models/vaegan.py)
# The image sizes each architecture is built for (models/ builds exactly these).
IMAGE_SIZES = {"dcgan": (32, 64, 128), "torchgan2015": (64,), "vaegan": (32, 64)}


class UserError(Exception):
    """A mistake in the user's input: shown as one clear line, never as a traceback."""


class ConfigError(UserError):
    pass


def opt(default: Any, label: str, help: str = "", **kw) -> Any:
    """A config field with its label (as the window shows it) and its one-line help in the field's
    metadata: the form, its tooltips and the docs read them here, so they cannot drift from the field."""
    return field(default=default, metadata={"label": label, "help": help}, **kw)


@dataclass
class ModelConfig:
    arch: str = opt("dcgan", "Architecture", "dcgan (Radford et al. 2015), torchgan2015 (the 2015 LFW face GAN) "
                    "or vaegan (Larsen et al. 2016).")
    image_size: int = opt(64, "Image size", "Training resolution in pixels; each architecture supports a few sizes.")
    latent_dim: int = opt(100, "Latent dimensions", "Length of the latent vector z fed to the generator.")
    # Base widths; each architecture multiplies them as docs/algorithms.md lays out (see models/).
    g_width: int = opt(64, "G width", "Base channel count of the generator; the layers use multiples of it.")
    d_width: int = opt(64, "D width", "Base channel count of the discriminator; the layers use multiples of it.")
    e_width: int = opt(64, "E width", "VAE/GAN: base channel count of the encoder.")
    g_tanh: bool = opt(False, "Tanh on G's output", "torchgan2015: the original code has no Tanh; on adds one.")
    # The default stays the paper's so older checkpoints load as saved.
    vae_upsample: str = opt("convT5", "Decoder upsampling", "VAE/GAN decoder's 2× upsampling: convT5 (the paper's "
                            "ConvTranspose 5×5/2), convT4 (4×4/2) or resize (nearest ×2 + 3×3 conv).")


@dataclass
class DataConfig:
    source: str = opt("synthetic", "Data source", "A folder, archive, dataset name or synthetic.")
    crop: str = opt("auto", "Crop", "auto | center | celeba148 | lfw150 | none: how each image is cut to a square.")
    synthetic_count: int = opt(20000, "Synthetic faces", "How many procedural faces the synthetic source renders.")
    cache_dir: str = opt("", "Cache folder", "Where decoded image caches go; empty: $LATENTLAB_CACHE, else the "
                         "platform's cache folder (~/.cache/latentlab on Linux).")
    holdout: int = opt(64, "Held-out images", "Images kept out of training (reconstruction grids, identity checks).")
    align: bool = opt(False, "Align faces", "Find and align each photo's face while the cache is built (an "
                      "unaligned collection); photos without a face found are skipped and counted. Synthetic "
                      "faces are aligned already.")
    # On a GPU, keep the decoded uint8 set in device memory when it fits in a quarter of what is free,
    # so batches are drawn there; false (or too big): each batch goes through pinned host memory,
    # the next one copied on a side stream while the current step runs.
    on_device: bool = opt(True, "Data on the GPU", "Keep the decoded images in GPU memory when they fit in a "
                          "quarter of what is free; off: batches come through pinned host memory.")
    hflip: bool = opt(False, "Mirror images", "Mirror a random half of each batch's images (left-right).")
    jitter: int = opt(0, "Jitter", "Random crops: shift each image by up to this many px (edges repeated); 0: off.")


@dataclass
class TrainConfig:
    steps: int = opt(0, "Steps", "Total steps of the run (a resumed run continues up to this). 0: use epochs instead.")
    epochs: int = opt(0, "Epochs", "Passes over the data when Steps is 0.")
    batch: int = opt(128, "Batch", "Images per step.")
    seed: int = opt(0, "Seed", "Seeds weights, batches and the fixed sample noise: equal seeds give equal runs.")
    device: str = opt("auto", "Device", "auto | cpu | cuda | mps")
    amp: str = opt("auto", "Mixed precision", "auto (bf16 on CUDA, fp32 elsewhere) | bf16 | off")
    channels_last: bool = opt(True, "Channels-last memory", "Lay tensors out channels-last (faster convolutions "
                              "on most GPUs).")
    optimizer: str = opt("adam", "Optimizer", "adam | rmsprop")
    lr_d: float = opt(2e-4, "D learning rate", "Discriminator learning rate. Can be changed while training runs.")
    lr_g: float = opt(2e-4, "G learning rate", "Generator learning rate. Can be changed while training runs.")
    adam_beta1: float = opt(0.5, "Adam β1", "Adam's first-moment decay (Radford et al. use 0.5).")
    adam_beta2: float = opt(0.999, "Adam β2", "Adam's second-moment decay.")
    rms_alpha: float = opt(0.9, "RMSprop α", "RMSprop's squared-gradient decay.")
    rms_eps: float = opt(1e-8, "RMSprop ε", "Added to RMSprop's denominator.")
    weight_decay: float = opt(0.0, "Weight decay", "L2 weight decay of both optimizers.")
    warmup: bool = opt(False, "Warm-up", "2015 rule: lr/50 for 10 updates, lr/5 until update 30.")
    lr_decay: float = opt(1.0, "LR decay per epoch", "Per-epoch multiplier of the learning rates.")
    lr_min: float = opt(1e-6, "Minimum LR", "The decay stops at this learning rate.")
    half_batch_d: bool = opt(False, "Half batches for D", "2015 rule: D sees batch/2 real + batch/2 fake.")
    margin: float = opt(0.0, "Margin", "2015 margin rule: skip D's update when it is winning by more than this, "
                        "G's when losing by more. 0 disables. Can be changed while training runs.")
    l2_adaptive: bool = opt(False, "Adaptive L2 on D", "2015 rule: raise D's L2 penalty when the generator's error "
                            "is below the band, lower it above.")
    l2_init: float = opt(0.0, "Initial L2 on D", "D's L2 penalty at step 0 (adaptive L2).")
    l2_band_low: float = opt(0.9, "L2 band low", "Lower edge of the gen-error band for adaptive L2. Can be changed "
                             "while training runs.")
    l2_band_high: float = opt(1.3, "L2 band high", "Upper edge of the gen-error band for adaptive L2. Can be changed "
                              "while training runs.")
    l2_step: float = opt(1e-5, "L2 step", "How much adaptive L2 moves D's penalty per step.")
    # Instance noise (Sønderby et al. 2016, "Amortised MAP inference for image super-resolution"), DCGAN
    # and the 2015 GAN only: the σ is in the images' [-1, 1] units, annealed linearly over the run.
    instance_noise: float = opt(0.0, "Instance noise", "σ of Gaussian noise on every image D sees, real and fake, "
                                "at step 0 (Sønderby et al. 2016); 0: off. DCGAN and the 2015 GAN only.")
    instance_noise_end: float = opt(0.0, "Instance noise at the end", "σ of that noise at the run's last step "
                                    "(annealed linearly).")
    ema: float = opt(0.0, "G weight EMA", "Decay of an exponential moving average of G's weights used for samples; "
                     "0 disables.")
    health: bool = opt(True, "Health checks", "Collapse, saturation and NaN checks.")
    health_every: int = opt(0, "Health check every", "Steps between health checks; 0: at every sample grid.")
    rollback: bool = opt(False, "Roll back on collapse", "On collapse or saturation, return to the last healthy "
                         "checkpoint.")
    rollback_lr_factor: float = opt(0.5, "Rollback LR factor", "Learning rates are multiplied by this at each "
                                    "rollback.")
    max_rollbacks: int = opt(3, "Most rollbacks", "The run stops rolling back after this many.")
    quality_every: int = opt(1000, "Measure quality every", "Offline quality metrics (Metrics tab) every this many "
                             "steps; 0: off.")
    quality_n: int = opt(256, "Quality images", "Generated and real images each quality measurement compares.")
    # VAE/GAN (Larsen et al. 2016)
    vae_gamma: float = opt(1e-6 / (1 - 1e-6), "VAE/GAN γ", "Weight of the feature likelihood against the GAN "
                           "loss in the decoder's update (Larsen et al. 2016).")
    vae_equilibrium: float = opt(0.68, "VAE/GAN equilibrium", "D's errors are kept near this (Larsen et al. 2016): "
                                "D pauses below it − margin, the decoder above it + margin.")
    vae_margin: float = opt(0.35, "VAE/GAN margin", "How far D's errors may leave the equilibrium before "
                            "D or the decoder pauses.")
    vae_d_sees_recon: bool = opt(False, "D sees reconstructions", "D also judges reconstructions as fakes.")
    vae_pixel_weight: float = opt(0.0, "Pixel likelihood weight", "Weight of a pixel-space Gaussian NLL beside D's "
                                  "feature likelihood; 0: the paper.")
    vae_feature_layer: int = opt(4, "Feature layer", "Which of D's convolutions (1-4) carries the feature "
                                 "likelihood; 4: the paper.")
    vae_kl_weight: float = opt(1.0, "KL weight (β)", "β on the encoder's prior (KL) term (Higgins et al. 2017); "
                               "1: the paper.")
    # Output cadence
    log_every: int = opt(1, "Log every", "Write a metrics row every this many steps.")
    sample_every: int = opt(200, "Sample every", "Write the fixed-noise sample grid every this many steps.")
    sample_count: int = opt(64, "Samples per grid", "Faces in each sample grid.")
    checkpoint_every: int = opt(1000, "Checkpoint every", "Write a checkpoint every this many steps (and always "
                                "on stop).")


@dataclass
class Config:
    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        lines = [f"name = {_toml_value(self.name)}"]
        for section in SECTIONS:
            lines.append("")
            lines.append(f"[{section}]")
            for key, value in dataclasses.asdict(getattr(self, section)).items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def copy(self) -> Config:
        return from_dict(self.to_dict())

    def validate(self) -> Config:
        m, d, t = self.model, self.data, self.train
        _check(m.arch in ARCHS, f"model.arch must be one of {', '.join(ARCHS)} (got {m.arch!r})")
        sizes = IMAGE_SIZES[m.arch]
        _check(m.image_size in sizes,
               f"model.image_size for {m.arch} must be one of {', '.join(map(str, sizes))} (got {m.image_size})")
        for key in ("latent_dim", "g_width", "d_width", "e_width"):
            _check(getattr(m, key) >= 1, f"model.{key} must be at least 1 (got {getattr(m, key)})")
        _check(d.crop in ("auto", "center", "celeba148", "lfw150", "none"),
               f"data.crop must be auto, center, celeba148, lfw150 or none (got {d.crop!r})")
        _check(d.synthetic_count >= 1, f"data.synthetic_count must be at least 1 (got {d.synthetic_count})")
        _check(d.holdout >= 0, f"data.holdout must be 0 or more (got {d.holdout})")
        _check(0 <= d.jitter <= m.image_size // 4,
               f"data.jitter must be 0 to a quarter of the image size, {m.image_size // 4} px (got {d.jitter})")
        _check(t.steps >= 0 and t.epochs >= 0, "train.steps and train.epochs must be 0 or more")
        _check(t.batch >= 2 and (not t.half_batch_d or t.batch % 2 == 0),
               f"train.batch must be at least 2 (and even with half_batch_d) (got {t.batch})")
        _check(t.device in ("auto", "cpu", "cuda", "mps") or t.device.startswith("cuda:"),
               f"train.device must be auto, cpu, cuda or mps (got {t.device!r})")
        _check(t.amp in ("auto", "bf16", "off"), f"train.amp must be auto, bf16 or off (got {t.amp!r})")
        _check(t.optimizer in ("adam", "rmsprop"), f"train.optimizer must be adam or rmsprop (got {t.optimizer!r})")
        for key in ("lr_d", "lr_g"):
            v = getattr(t, key)
            _check(math.isfinite(v) and v > 0, f"train.{key} must be a positive number (got {v})")
        _check(0 <= t.margin < 0.5, f"train.margin must be in [0, 0.5) (got {t.margin})")
        _check(t.l2_band_low <= t.l2_band_high,
               f"train.l2_band_low ({t.l2_band_low}) must not exceed train.l2_band_high ({t.l2_band_high})")
        for key in ("instance_noise", "instance_noise_end"):
            v = getattr(t, key)
            _check(math.isfinite(v) and 0 <= v <= 2, f"train.{key} must be in [0, 2] (got {v})")
        _check(m.arch != "vaegan" or t.instance_noise == t.instance_noise_end == 0,
               "train.instance_noise applies to dcgan and torchgan2015 only: the VAE/GAN's D also "
               "measures the reconstruction, which noise would blur")
        _check(0 <= t.ema < 1, f"train.ema must be in [0, 1) (got {t.ema})")
        _check(0 < t.lr_decay <= 1, f"train.lr_decay must be in (0, 1] (got {t.lr_decay})")
        _check(0 < t.rollback_lr_factor <= 1, f"train.rollback_lr_factor must be in (0, 1] (got {t.rollback_lr_factor})")
        _check(t.health_every >= 0 and t.max_rollbacks >= 0, "train.health_every and train.max_rollbacks must be >= 0")
        _check(t.quality_every >= 0, f"train.quality_every must be 0 (off) or a number of steps (got {t.quality_every})")
        _check(t.quality_n >= 8, f"train.quality_n must be at least 8 images (got {t.quality_n})")
        for key in ("log_every", "sample_every", "checkpoint_every", "sample_count"):
            _check(getattr(t, key) >= 1, f"train.{key} must be at least 1 (got {getattr(t, key)})")
        _check(t.vae_gamma >= 0, f"train.vae_gamma must be 0 or more (got {t.vae_gamma})")
        _check(m.vae_upsample in VAE_UPSAMPLINGS,
               f"model.vae_upsample must be one of {', '.join(VAE_UPSAMPLINGS)} (got {m.vae_upsample!r})")
        _check(t.vae_pixel_weight >= 0, f"train.vae_pixel_weight must be 0 or more (got {t.vae_pixel_weight})")
        _check(t.vae_kl_weight > 0, f"train.vae_kl_weight must be above 0 (got {t.vae_kl_weight})")
        _check(1 <= t.vae_feature_layer <= 4, f"train.vae_feature_layer must be 1, 2, 3 or 4 (got {t.vae_feature_layer})")
        for key, bound in CONFIG_BOUNDS.items():  # the ranges of bounds.py: nothing absurd reaches an allocation
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            _check(bound.contains(value), f"{key} must be {bound.describe()} (got {value})")
        return self


SECTIONS = ("model", "data", "train")
_SECTION_TYPES = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def describe(key: str) -> tuple[str, str]:
    """(label, help) of a `section.name` field, from its metadata; the name itself when it has none."""
    section, _, name = key.partition(".")
    for f in dataclasses.fields(_SECTION_TYPES[section]):
        if f.name == name:
            return f.metadata.get("label", name), f.metadata.get("help", "")
    raise KeyError(key)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _field_names(section: str) -> list[str]:
    return [f.name for f in dataclasses.fields(_SECTION_TYPES[section])]


def _coerce(section: str, key: str, value: Any, where: str) -> Any:
    """Convert a TOML or command-line value to the field's type, with a clear error."""
    default = getattr(_SECTION_TYPES[section](), key)
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if value != int(value):
                    raise ValueError
                return int(value)
            return int(str(value).strip())
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
            return out
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {section}.{key} must be {kind.__name__} (got {value!r})") from None


def from_dict(data: dict[str, Any], where: str = "config") -> Config:
    cfg = Config()
    unknown_top = set(data) - {"name", *SECTIONS}
    if unknown_top:
        raise ConfigError(f"{where}: unknown key {sorted(unknown_top)[0]!r}; allowed: name, {', '.join(SECTIONS)}")
    if "name" in data:
        cfg.name = str(data["name"])
    for section in SECTIONS:
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        target = getattr(cfg, section)
        allowed = _field_names(section)
        for key, value in values.items():
            if key not in allowed:
                raise ConfigError(f"{where}: unknown key {section}.{key}; allowed: {', '.join(allowed)}")
            setattr(target, key, _coerce(section, key, value, where))
    return cfg


def load_toml(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return from_dict(data, where=str(path))


def preset_names() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.toml"))


def load_preset(name: str) -> Config:
    path = preset_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    cfg = load_toml(path)
    cfg.name = name
    return cfg


def preset_summary(name: str) -> str:
    """The first comment line of a preset file: its one-line description."""
    for line in (preset_dir() / f"{name}.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def apply_override(cfg: Config, assignment: str) -> None:
    """Apply one `key=value` (key may be `section.key` or a bare key unique across sections)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE")
    key, value = (s.strip() for s in assignment.split("=", 1))
    if "." in key:
        section, name = key.split(".", 1)
        if section not in SECTIONS:
            raise ConfigError(f"--set {key}: unknown section {section!r}; allowed: {', '.join(SECTIONS)}")
        if name not in _field_names(section):
            raise ConfigError(f"--set {key}: unknown key; allowed in [{section}]: {', '.join(_field_names(section))}")
    else:
        hits = [s for s in SECTIONS if key in _field_names(s)]
        if not hits:
            allowed = ", ".join(f"{s}.{k}" for s in SECTIONS for k in _field_names(s))
            raise ConfigError(f"--set {key}: unknown key; allowed: {allowed}")
        section, name = hits[0], key
    setattr(getattr(cfg, section), name, _coerce(section, name, value, f"--set {key}"))

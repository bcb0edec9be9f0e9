"""One-file checkpoints: safetensors tensors plus JSON metadata, written atomically. Never pickle.

Layout: networks under "G.", "D.", "E.", "G_ema." prefixes; optimizer tensors under "optim.<net>.";
RNG states and the fixed noise as tensors. Metadata (all strings): format, version, config (TOML),
step, epoch, time, rules, optimizers (their non-tensor parts), data fingerprint.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from latentlab.atomic import write_bytes_atomic
from latentlab.config import Config, ConfigError, UserError, from_dict

FORMAT = "latentlab-checkpoint"
VERSION = "1"
MAX_STEP = 10**12  # far beyond any run; a larger "step" is a damaged or hand-edited file


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename over `path`.

    A kill at any moment leaves either the old file or the new one, never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    strings = {"format": FORMAT, "version": VERSION}
    strings.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    # Serialised in memory and written by us: a full disk is then an OSError naming the file, not a
    # SafetensorError wrapping one.
    return write_bytes_atomic(path, save(flat, metadata=strings))


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors and decoded metadata; refuse anything that is not a whole latentlab checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file")
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise UserError(f"{path}: damaged checkpoint ({exc})") from None
    return tensors, meta


def read_metadata(path: str | Path) -> dict:
    """Read and check the header only (fast; used to list and validate files)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise UserError(f"{path}: not a latentlab checkpoint (file too short)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100_000_000):
                raise UserError(f"{path}: not a latentlab checkpoint (no safetensors header; "
                                "is it a pickled .pth? use `latentlab import-dcgan` for those)")
            header = json.loads(f.read(n))
    except UserError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a latentlab checkpoint ({exc})") from None
    if not isinstance(header, dict):
        raise UserError(f"{path}: not a latentlab checkpoint (bad header)")
    # The header's largest data offset tells whether the file was cut short.
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (KeyError, IndexError, TypeError, ValueError):
        raise UserError(f"{path}: not a latentlab checkpoint (bad tensor entry in the header)") from None
    if 8 + n + end > size:
        raise UserError(f"{path}: truncated checkpoint ({size} bytes, needs {8 + n + end})")
    raw = header.get("__metadata__") or {}
    if raw.get("format") != FORMAT:
        raise UserError(f"{path}: a safetensors file but not a latentlab checkpoint (format {raw.get('format')!r})")
    meta: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value) if key not in ("config", "format", "version") else value
        except json.JSONDecodeError:
            meta[key] = value
    for key in ("step", "epoch"):
        value = meta.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STEP:
            raise UserError(f"{path}: metadata {key!r} is {raw.get(key)!r}, not a whole number from 0 to "
                            f"{MAX_STEP:.0e} (a damaged or edited checkpoint)")
    return meta


def require_meta(meta: dict, tensors: dict, where: str, keys: dict[str, tuple[str, ...]],
                 tensor_names: tuple[str, ...], purpose: str) -> None:
    """Refuse a checkpoint that lacks what `purpose` needs, naming the first missing key."""
    for key, inner in keys.items():
        value = meta.get(key)
        if not isinstance(value, dict):
            raise UserError(f"{where}: has no {key!r} in its metadata, needed to {purpose} (a checkpoint "
                            "written for sampling only, e.g. by import-dcgan, cannot be resumed)")
        for name in inner:
            if not isinstance(value.get(name), dict):
                raise UserError(f"{where}: metadata {key!r} has no {name!r}, needed to {purpose}")
    for name in tensor_names:
        if name not in tensors:
            raise UserError(f"{where}: has no {name!r} tensor, needed to {purpose}")


def config_from_meta(meta: dict, where: str = "checkpoint") -> Config:
    import tomllib

    try:
        return from_dict(tomllib.loads(meta["config"]), where=where).validate()
    except (KeyError, tomllib.TOMLDecodeError, ConfigError) as exc:
        raise UserError(f"{where}: checkpoint config unreadable ({exc})") from None


def split_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


def check_state(module: torch.nn.Module, state, where: str, name: str = "") -> dict[str, torch.Tensor]:
    """Every key of `module` is in `state` with the same shape, else a UserError naming the first
    that is not (as `name.key`). Returns the module's own state dict."""
    own = module.state_dict()
    for key, value in own.items():
        if key not in state:
            raise UserError(f"{where}: {name or 'the state'} is missing {key!r} (wrong architecture?)")
        if tuple(state[key].shape) != tuple(value.shape):
            raise UserError(f"{where}: {name + '.' if name else ''}{key} has shape {tuple(state[key].shape)}, "
                            f"the model expects {tuple(value.shape)} (wrong architecture or size)")
        if value.is_floating_point() and not state[key].is_floating_point():
            # load_state_dict would cast int32 weights silently and give a degenerate model
            raise UserError(f"{where}: {name + '.' if name else ''}{key} holds {str(state[key].dtype).replace('torch.', '')} "
                            "values, the model expects floating-point weights (a damaged or foreign file)")
    return own


def check_finite(state: dict[str, torch.Tensor], name: str, where: str) -> None:
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise UserError(f"{where}: {name}.{key} holds NaN or infinite values (the run diverged?); "
                            "use an earlier checkpoint")


def check_shapes_before_building(model_cfg, tensors: dict[str, torch.Tensor], where: str) -> None:
    """The config's networks, built on the meta device (no memory), against the file's tensors: an
    absurd embedded config (latent_dim=1e9) is refused before anything is allocated."""
    from latentlab.models import build_models

    try:
        with torch.device("meta"):
            shapes = build_models(model_cfg)
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise UserError(f"{where}: the embedded model config cannot be built ({exc})") from None
    m = model_cfg
    try:
        for name, net in shapes.items():
            state = split_prefix(tensors, name)
            if state or name == "G":
                check_state(net, state, where, name)
    except UserError as exc:
        raise UserError(f"{exc}; its embedded config says {m.arch}, {m.image_size} px, latent_dim {m.latent_dim}, "
                        f"g_width {m.g_width}, d_width {m.d_width}") from None


def load_net(module: torch.nn.Module, state: dict[str, torch.Tensor], name: str, where: str) -> None:
    """load_state_dict with a clear message naming the first mismatching or non-finite key."""
    own = check_state(module, state, where, name)
    check_finite(state, name, where)
    extra = sorted(set(state) - set(own))
    if extra:
        raise UserError(f"{where}: {name} has an unexpected key {extra[0]!r} (wrong architecture?)")
    module.load_state_dict(state)


@dataclass
class LoadedModel:
    config: Config
    G: torch.nn.Module
    E: torch.nn.Module | None
    D: torch.nn.Module | None
    step: int
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def has_encoder(self) -> bool:
        return self.E is not None


def load_model(path: str | Path, device: str | torch.device = "cpu", prefer_ema: bool = True) -> LoadedModel:
    """Networks of a checkpoint in eval mode, for sampling, exploring and encoding."""
    from latentlab.models import build_models

    path = Path(path)
    tensors, meta = read_checkpoint(path)
    cfg = config_from_meta(meta, where=str(path))
    check_shapes_before_building(cfg.model, tensors, str(path))
    g_name = "G_ema" if prefer_ema and split_prefix(tensors, "G_ema") else "G"
    states = {"G": (g_name, split_prefix(tensors, g_name))}
    states.update({name: (name, split_prefix(tensors, name)) for name in ("E", "D")})
    for label, state in states.values():
        check_finite(state, label, str(path))
    nets = build_models(cfg.model)
    out = {"G": nets["G"], "E": None, "D": None}
    for name, (label, state) in states.items():
        if name in nets and (state or name == "G"):
            load_net(nets[name], state, label, str(path))
            out[name] = nets[name]
    for net in out.values():
        if net is not None:
            net.to(device).eval().requires_grad_(False)
    return LoadedModel(cfg, out["G"], out["E"], out["D"], int(meta.get("step", 0)), meta, path)


# -- optimizer states as tensors + JSON ---------------------------------------------------------

def optimizer_to_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    # The names are listed so that a resume can tell a state stripped from the file from one that
    # never existed (a net whose every update the balancing rules skipped has none).
    names = sorted(k[len(prefix) + 1:] for k in tensors)
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars, "tensors": names}


def optimizer_from_tensors(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict, prefix: str,
                           where: str = "checkpoint", expect_state: bool = False) -> None:
    """Restore `opt`; a UserError naming the tensor when one does not fit the parameter it belongs to
    (checked here: torch would accept it and fail at the next step), or, with `expect_state` (a
    checkpoint written after steps were taken), when one is missing: torch would start the optimizer
    afresh without a word."""
    params = [q for group in opt.param_groups for q in group["params"]]
    state: dict[int, dict] = {}
    p = prefix + "."
    listed = info.get("tensors") if isinstance(info, dict) else None
    if isinstance(listed, list):
        missing = next((p + str(n) for n in listed if p + str(n) not in tensors), None)
        if missing:
            raise UserError(f"{where}: has no {missing} tensor (the optimizer's state), needed to resume training")
    elif expect_state and prefix == "optim.D" and not any(key.startswith(p) for key in tensors):
        # Written before the names were listed: D is updated from the first step, so it has a state.
        raise UserError(f"{where}: has no {prefix}.* tensors (the optimizer's state), needed to resume training")
    for key, value in tensors.items():
        if key.startswith(p):
            idx, _, name = key[len(p):].partition(".")
            if not idx.isdigit() or not name or int(idx) >= len(params):
                raise UserError(f"{where}: {key} belongs to no parameter of the model ({len(params)} parameters)")
            if value.dim() > 0 and tuple(value.shape) != tuple(params[int(idx)].shape):
                raise UserError(f"{where}: {key} has shape {tuple(value.shape)}, its parameter has "
                                f"{tuple(params[int(idx)].shape)}")
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise UserError(f"{where}: {key} holds NaN or infinite values; use an earlier checkpoint")
            state.setdefault(int(idx), {})[name] = value
    try:
        for idx, values in info.get("scalars", {}).items():
            state.setdefault(int(idx), {}).update(values)
        groups = info["param_groups"]
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{where}: the optimizer state of {prefix} does not fit the model ({exc})") from None

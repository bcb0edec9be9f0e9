"""Import a generator trained with the PyTorch DCGAN example or tutorial (Radford et al. 2016).

That netG is `self.main = nn.Sequential(ConvTranspose2d(nz, ngf*8, 4, 1, 0), BatchNorm2d, ReLU, ...,
ConvTranspose2d(ngf, 3, 4, 2, 1), Tanh)`, saved as a state dict with `main.N.*` keys. Our
DCGANGenerator keeps that layout, so the weights load by key and give identical outputs.

Files are read with torch.load(weights_only=True): tensors and plain containers only, so a file
carrying pickled code is refused, never run.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from pickle import UnpicklingError  # the error type only: nothing here unpickles

import torch

from latentlab.config import ModelConfig, UserError
from latentlab.models.dcgan import STAGES, DCGANGenerator

_SIZE_BY_STAGES = {n: size for size, n in STAGES.items()}
_WRAPPERS = ("state_dict", "netG", "generator", "G", "model")  # common checkpoint dict layouts
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel / DDP, torch.compile


def _load_failure(exc: BaseException) -> str:
    """One short reason for a failed torch.load, instead of torch's multi-paragraph advice."""
    text = str(exc)
    if isinstance(exc, UnpicklingError):
        found = re.search(r"GLOBAL (\S+)", text)
        if found:
            return f"refused: it holds a pickled Python object ({found.group(1)}); such files are never unpickled"
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", text)
        reason = detail.group(1).strip() if detail else "unreadable pickle"
        return f"not a PyTorch state dict file, or one holding Python objects, which are refused ({reason})"
    if isinstance(exc, PermissionError):
        return "cannot read it (permission denied)"
    # a cut-off zip shows up as EOFError, a miniz RuntimeError or an EINVAL OSError from a seek
    if isinstance(exc, (EOFError, OSError)) or "central directory" in text or "zip archive" in text:
        return "truncated or corrupt file (it ends early or its archive is damaged)"
    lines = text.strip().splitlines()
    return f"not a PyTorch state dict file ({type(exc).__name__}: {lines[0] if lines else 'no detail'})"


def load_state_dict_file(path: str | Path) -> dict:
    """Read a .pth/.pt state dict safely; any failure becomes UserError("PATH: reason")."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():  # torch's pickle-protocol chatter; failures are reported below
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every failure is the file's fault, reported in one line
        raise UserError(f"{path}: {_load_failure(exc)}") from None
    if not isinstance(obj, Mapping):
        raise UserError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    return dict(obj)


def _as_state_dict(state: object) -> dict[str, torch.Tensor]:
    """Unwrap {"state_dict": {...}}-style checkpoints and strip DataParallel/compile prefixes."""
    if not isinstance(state, Mapping):
        raise UserError(f"not a state dict (got a {type(state).__name__})")
    if not any(isinstance(v, torch.Tensor) for v in state.values()):
        for key in _WRAPPERS:
            if isinstance(state.get(key), Mapping):
                return _as_state_dict(state[key])
        raise UserError("not a state dict: it holds no tensors"
                        + (f" (keys: {', '.join(map(str, list(state)[:6]))})" if state else ""))
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise UserError(f"not a state dict: entry {key!r} is a {type(value).__name__}, not a tensor")
        name = key
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        out[name] = value
    return out


def _conv_indices(state: dict[str, torch.Tensor]) -> list[int]:
    """Indices N of the `main.N.weight` entries that are 4-D (the transposed convolutions)."""
    found = []
    for key, value in state.items():
        m = re.fullmatch(r"main\.(\d+)\.weight", key)
        if m and value.dim() == 4:
            found.append(int(m.group(1)))
    return sorted(found)


def _dims_hint(state: dict[str, torch.Tensor], convs: list[int], nz: int, ngf: int) -> str:
    """When the file's own shapes say which --nz/--ngf it was trained with, say so."""
    first, last = state.get(f"main.{convs[0]}.weight"), state.get(f"main.{convs[-1]}.weight")
    if first is None or last is None:
        return ""
    file_nz, file_ngf = int(first.shape[0]), int(last.shape[0])
    if (file_nz, file_ngf) != (nz, ngf):
        return f"; the file looks like nz={file_nz}, ngf={file_ngf} (--nz {file_nz} --ngf {file_ngf})"
    return ""


def import_dcgan_state_dict(state: Mapping, nz: int = 100, ngf: int = 64) -> tuple[ModelConfig, DCGANGenerator]:
    """Build our DCGAN generator from a PyTorch-example netG state dict; returns (config, G in eval mode).

    The image size follows from the number of transposed convolutions (4: 32 px, 5: 64, 6: 128).
    Raises UserError naming the first missing key, the first shape mismatch (expected vs got), an
    unexpected key or a non-finite weight.
    """
    if nz < 1 or ngf < 1:
        raise UserError(f"nz and ngf must be at least 1 (got nz={nz}, ngf={ngf})")
    state = _as_state_dict(state)
    convs = _conv_indices(state)
    # Every stage but the last is ConvTranspose, BatchNorm, ReLU; the last a convolution alone. The
    # batch norms count the stages even when a convolution's weight is missing from the file, so that
    # one is reported as missing rather than the first as misshapen.
    norms = {m.group(1) for key in state if (m := re.fullmatch(r"main\.(\d+)\.running_(mean|var)", key))}
    stages = len(norms) + 1
    if stages in _SIZE_BY_STAGES and len(convs) < stages:
        convs = [3 * k for k in range(stages)]
    if len(convs) not in _SIZE_BY_STAGES:
        raise UserError(f"not a PyTorch DCGAN-example generator: found {len(convs)} transposed-convolution "
                        f"weights (main.N.weight, 4-D); expected 4, 5 or 6 (32, 64 or 128 px)")
    size = _SIZE_BY_STAGES[len(convs)]
    with torch.device("meta"):  # shapes only: no memory even when nz/ngf are wildly wrong
        expected = DCGANGenerator(nz, size, ngf, init=False).state_dict()
    for key, target in expected.items():
        if key not in state:
            if key.endswith("num_batches_tracked"):
                continue  # absent from pre-0.4 checkpoints; unused with a fixed momentum
            raise UserError(f"missing key {key} for a {size} px DCGAN generator (nz={nz}, ngf={ngf})")
        got = state[key]
        if tuple(got.shape) != tuple(target.shape):
            raise UserError(f"{key}: expected shape {tuple(target.shape)}, got {tuple(got.shape)}"
                            + _dims_hint(state, convs, nz, ngf))
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise UserError(f"{key}: contains NaN or Inf")
    for key in state:
        if key not in expected:
            raise UserError(f"unexpected key {key}: not part of the PyTorch DCGAN example's generator")
    with torch.random.fork_rng(devices=[]):  # the weights are replaced; leave the caller's RNG alone
        G = DCGANGenerator(nz, size, ngf, init=False)
    G.load_state_dict(state, strict=False)
    G.eval()
    cfg = ModelConfig(arch="dcgan", image_size=size, latent_dim=nz, g_width=ngf)
    return cfg, G


def import_dcgan_file(path: str | Path, nz: int = 100, ngf: int = 64) -> tuple[ModelConfig, DCGANGenerator]:
    """load_state_dict_file + import_dcgan_state_dict, with the file named in every error."""
    state = load_state_dict_file(path)
    try:
        return import_dcgan_state_dict(state, nz=nz, ngf=ngf)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None

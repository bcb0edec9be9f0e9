"""A trained generator (and a VAE/GAN's encoder) as an ONNX or TorchScript file for use outside latentlab.

The exported graphs take and give plain tensors:
- generator: `z` float32 (N, latent_dim) -> `images` float32 (N, 3, S, S), RGB in [-1, 1]. The clamp
  that latentlab applies before display is part of the graph, so the range holds for every
  architecture (the 2015 Torch generator has no Tanh of its own).
- encoder: `images` float32 (N, 3, S, S) in [-1, 1] -> `mu`, `logvar`, each (N, latent_dim);
  z = mu + exp(logvar / 2) * eps, or mu alone for a reconstruction.
The same facts go into the file as metadata (ONNX metadata_props; a `latentlab.json` extra file in
TorchScript) so a program in another language can size its buffers without reading latentlab.

ONNX goes through torch.onnx's default exporter (torch.export + onnxscript); it runs offline. Each
file is written whole or not at all (latentlab.atomic), with the umask's mode.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from latentlab.atomic import write_with
from latentlab.config import ModelConfig, UserError

ROLES = ("generator", "encoder")
PIXEL_RANGE = "[-1, 1]"
EXAMPLE_BATCH = 2  # the traced batch when the batch stays dynamic (not 1, which tracers may specialise)


class _GeneratorGraph(nn.Module):
    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z).clamp(-1.0, 1.0)


class _EncoderGraph(nn.Module):
    def __init__(self, E: nn.Module):
        super().__init__()
        self.E = E

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.E(images)
        return mu, logvar


def parse_batch(text: str) -> int | None:
    """`dynamic` -> None (any batch size); a whole number >= 1 -> that fixed batch size."""
    if text.strip().lower() == "dynamic":
        return None
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"--batch {text!r}: expected `dynamic` or a whole number") from None
    if value < 1:
        raise UserError(f"--batch {value}: must be at least 1")
    return value


def export_metadata(model_cfg: ModelConfig, role: str, batch: int | None, extra: dict | None = None) -> dict[str, str]:
    """What a consumer needs to feed the graph and read its output, as strings."""
    from latentlab import package_version

    size = model_cfg.image_size
    meta = {
        "model_kind": model_cfg.arch,
        "role": role,
        "latent_dim": str(model_cfg.latent_dim),
        "image_size": str(size),
        "pixel_range": PIXEL_RANGE,
        "layout": "NCHW, RGB, float32",
        "batch": "dynamic" if batch is None else str(batch),
        "inputs": f"z (N, {model_cfg.latent_dim})" if role == "generator" else f"images (N, 3, {size}, {size})",
        "outputs": (f"images (N, 3, {size}, {size})" if role == "generator"
                    else f"mu (N, {model_cfg.latent_dim}), logvar (N, {model_cfg.latent_dim})"),
        "producer": f"latentlab {package_version()}",
    }
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    return meta


def _graph(net: nn.Module, model_cfg: ModelConfig, role: str, batch: int | None):
    """The module to export, its example input, and the input/output names."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    n = EXAMPLE_BATCH if batch is None else batch
    net = copy.deepcopy(net).float().cpu().eval()  # the caller's module keeps its device and mode
    if role == "generator":
        example = torch.randn(n, model_cfg.latent_dim, generator=torch.Generator().manual_seed(0))
        return _GeneratorGraph(net).eval(), example, ["z"], ["images"]
    s = model_cfg.image_size
    example = torch.rand(n, 3, s, s, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return _EncoderGraph(net).eval(), example, ["images"], ["mu", "logvar"]


def _write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise UserError(f"{path}: the folder does not exist or is not writable")
    return write_with(path, write)


def export_onnx(net: nn.Module, model_cfg: ModelConfig, role: str, path: str | Path, batch: int | None = None,
                extra_meta: dict | None = None) -> Path:
    """Write `net` (a generator or an encoder) as ONNX with latentlab's metadata; returns the path."""
    try:
        import onnx
    except ImportError:
        raise UserError("ONNX export needs the onnx packages: pip install 'latentlab[export]'") from None
    module, example, inputs, outputs = _graph(net, model_cfg, role, batch)
    dynamic = None
    if batch is None:
        dynamic = {"z" if role == "generator" else "images": {0: torch.export.Dim("batch", min=1)}}
    with torch.no_grad():
        program = torch.onnx.export(module, (example,), dynamo=True, input_names=inputs, output_names=outputs,
                                    dynamic_shapes=dynamic, optimize=True, verbose=False)
    proto = program.model_proto
    proto.doc_string = (f"latentlab {role} ({model_cfg.arch}, {model_cfg.image_size} px, "
                        f"latent {model_cfg.latent_dim}); pixels in {PIXEL_RANGE}")
    onnx.helper.set_model_props(proto, export_metadata(model_cfg, role, batch, extra_meta))
    return _write_atomically(Path(path), lambda tmp: onnx.save_model(proto, tmp))


def export_torchscript(net: nn.Module, model_cfg: ModelConfig, role: str, path: str | Path,
                       extra_meta: dict | None = None) -> Path:
    """Write `net` as a traced TorchScript module (torch.jit.load needs no latentlab); returns the path.

    The trace keeps the batch size symbolic (the networks reshape by x.shape[0]), so the module
    takes any batch. The metadata travels as the extra file `latentlab.json`.
    """
    module, example, _, _ = _graph(net, model_cfg, role, None)
    meta = json.dumps(export_metadata(model_cfg, role, None, extra_meta), indent=1)
    with warnings.catch_warnings():
        # torch marks TorchScript deprecated (docs/export.md says so once); the tracer's note concerns the
        # latent-size check, a constant of the model, not a value that varies between inputs.
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        with torch.no_grad():
            traced = torch.jit.trace(module, (example,), check_trace=False)
        return _write_atomically(Path(path), lambda tmp: torch.jit.save(traced, tmp,
                                                                       _extra_files={"latentlab.json": meta}))


def export_format(path: str | Path) -> str:
    """`onnx` or `torchscript`, from a file name's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".pt", ".pth", ".ts", ".torchscript"):
        return "torchscript"
    raise UserError(f"{path}: name an .onnx file (ONNX) or a .pt file (TorchScript)")

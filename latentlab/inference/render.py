"""A generator (and encoder) held for interactive use: z -> uint8 pixels, photo -> z.

The Renderer keeps its own eval copies of the networks (so the live training nets are never run in
eval mode or raced), with weights hot-swappable from a newer checkpoint or the running trainer.
`render`, `encode` and `reconstruct` return a RenderResult with the error in it instead of raising,
so a UI worker can show it and stay alive (the stylegan3 viz renderer's rule). `generate` and
`render_uint8` raise, for batch jobs such as video export that should stop on an error.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.config import UserError
from latentlab.inference.render_onnx import ORT_MAX_BATCH, ort_generator
from latentlab.latent.choices import UPSCALE_NAMES
from latentlab.models.common import from_uint8
from latentlab.run.grids import to_uint8


@dataclass
class RenderResult:
    images: np.ndarray | None = None  # uint8 (N, S, S, 3)
    z: np.ndarray | None = None  # float32 (N, latent_dim): the encoder's mu (encode/reconstruct)
    ms: float = 0.0  # wall time of the call
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_FOLDABLE = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)


def _fold_batchnorm(net: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm that directly follows a conv/linear layer inside an
    nn.Sequential into that layer's weight and bias, and put an Identity in its place. Same
    function (to float rounding), one memory pass less per layer: ~15% faster rendering here."""
    for seq in [m for m in net.modules() if isinstance(m, torch.nn.Sequential)]:
        for i in range(len(seq) - 1):
            layer, bn = seq[i], seq[i + 1]
            if not (isinstance(layer, _FOLDABLE) and isinstance(bn, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                    and bn.track_running_stats and bn.running_var is not None
                    and getattr(layer, "groups", 1) == 1):
                continue
            scale = torch.rsqrt(bn.running_var + bn.eps)
            if bn.affine:
                scale = scale * bn.weight
            shift = -bn.running_mean * scale + (bn.bias if bn.affine else 0)
            w = layer.weight
            # ConvTranspose2d keeps output channels on axis 1, the others on axis 0.
            shape = [1, -1] + [1] * (w.dim() - 2) if isinstance(layer, torch.nn.ConvTranspose2d) \
                else [-1] + [1] * (w.dim() - 1)
            bias = shift if layer.bias is None else layer.bias * scale + shift
            layer.weight = torch.nn.Parameter((w * scale.view(shape)).detach(), requires_grad=False)
            layer.bias = torch.nn.Parameter(bias.detach(), requires_grad=False)
            seq[i + 1] = torch.nn.Identity()
    return net


def _prepare(net: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The plain eval copy (kept for weight swaps) — see _fast for the one that renders."""
    return copy.deepcopy(net).to(device).eval().requires_grad_(False)


def _fast(master: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        net = _fold_batchnorm(copy.deepcopy(master))
    # channels_last lets oneDNN pick its fast (transposed) convolution kernels: ~2x on this CPU.
    return net.to(memory_format=torch.channels_last)


def error_text(exc: BaseException) -> str:
    """One line for a failure that lands in a result: a user's mistake as itself, anything else with its type."""
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


class Renderer:
    """Eval copies of G (and E) on one device. `renderer.G`/`.E` are the copies that run: BatchNorm
    folded into the preceding layers and channels_last, so they compute the same function as the
    networks given (use them for inference only, e.g. principal_directions(renderer.G)).

    threads: when set, each call runs with that many intra-op threads in the calling thread (with
    OpenMP the setting is per thread, so a render worker can use 1 while training keeps 2); the
    calls also take `threads` for one call (the Explore panel's worker: 1 while training runs, all
    cores while it is paused or stopped).
    max_batch: larger requests are split into chunks of this many latents (bounded memory).
    backend: "torch" (the reference path), or "auto": on the CPU, batches of up to
    render_onnx.ORT_MAX_BATCH latents given to render()/reconstruct() go through ONNX Runtime when
    it is installed and the generator exports (several times faster for one image; a uint8 pixel
    may differ from the torch path by 1/255). `.backend` says which one renders single images.
    Thread-safe: one lock serialises rendering and weight swaps.
    """

    def __init__(self, G: torch.nn.Module, E: torch.nn.Module | None = None, device: str | torch.device = "cpu",
                 *, threads: int | None = None, max_batch: int = 64, backend: str = "torch"):
        self.device = torch.device(device)
        # _masters: plain eval copies that weight swaps load into; G and E: their BatchNorm-folded,
        # channels_last versions that actually run (rebuilt after every swap).
        self._masters = {"G": _prepare(G, self.device)}
        if E is not None:
            self._masters["E"] = _prepare(E, self.device)
        if backend not in ("torch", "auto"):
            raise ValueError(f"backend must be torch or auto, got {backend!r}")
        self.G = _fast(self._masters["G"])
        self.E = _fast(self._masters["E"]) if E is not None else None
        self._ort = None
        self._ort_threads = 1  # the thread count of the latest ONNX Runtime render
        self._generation = 0  # bumped by every swap of G: an export of older weights is not installed
        self._export_done = threading.Event()
        self.latent_dim = int(G.latent_dim)
        self.image_size = int(G.image_size)
        self.threads = threads
        self.max_batch = max(1, int(max_batch))
        self.config = None  # the checkpoint's Config when built by from_checkpoint
        self.step: int | None = None
        self.path: Path | None = None
        self._lock = threading.Lock()
        if backend == "auto":
            self.enable_fast_path(background=False)
        else:
            self._export_done.set()

    def enable_fast_path(self, background: bool = True) -> None:
        """Export G for ONNX Runtime (CPU only; nothing when it is not installed or G does not
        export). background: on its own thread, so a window shows its first picture without waiting
        for the export (0.3-2 s); renders take the torch path until it is installed. A weight swap
        during the export makes it export the new weights."""
        if self.device.type != "cpu":
            self._export_done.set()
            return
        self._export_done.clear()
        if background:
            # Not a daemon: an exit waits for it (seconds at most) instead of killing it inside torch.
            threading.Thread(target=self._export, name="latentlab-onnx-export").start()
        else:
            self._export()

    def wait_fast_path(self, timeout: float | None = None) -> bool:
        """Until an export started by enable_fast_path has finished (installed or given up)."""
        return self._export_done.wait(timeout)

    def _export(self) -> None:
        try:
            while True:
                with self._lock:
                    G, generation = self.G, self._generation
                ort = ort_generator(G, self.latent_dim)
                if ort is None:
                    return
                ort.session(self._ort_threads)  # made here, not in the first render that uses it
                with self._lock:
                    if generation == self._generation:
                        self._ort = ort
                        return
        finally:
            self._export_done.set()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu", **kwargs) -> Renderer:
        """Load a latentlab checkpoint (EMA generator preferred). Raises UserError for a bad file."""
        from latentlab.run.checkpoint import load_model

        loaded = load_model(path, device="cpu")
        renderer = cls(loaded.G, loaded.E, device=device, **kwargs)
        renderer.config, renderer.step, renderer.path = loaded.config, loaded.step, Path(path)
        return renderer

    @property
    def backend(self) -> str:
        return "onnxruntime" if self._ort is not None else "torch"

    @property
    def has_encoder(self) -> bool:
        return self.E is not None

    # -- weights ---------------------------------------------------------------------------------
    def swap_weights(self, source: torch.nn.Module | Mapping[str, torch.Tensor], net: str = "G") -> None:
        """Hot-swap the held G (or E) to new weights: a module of the same architecture (e.g. the
        trainer's generator_for_sampling(), on any device) or its state dict. Every key and shape is
        checked first; on a mismatch a UserError names the first bad key and the old weights stay.
        The new copies are built outside the lock, so a render in flight is not held up."""
        target = self._masters.get(net)
        if target is None:
            raise UserError(f"this model has no {net} to update")
        state = source.state_dict() if isinstance(source, torch.nn.Module) else source
        from latentlab.run.checkpoint import check_state

        check_state(target, state, f"new {net} weights", net)
        with torch.no_grad():
            staged = copy.deepcopy(target)
            for key, value in staged.state_dict().items():
                value.copy_(state[key].detach())
            fast = _fast(staged)
        while True:
            base = self._ort
            ort = base
            if net == "G" and base is not None:
                ort = base.with_weights(fast)
                ort.session(self._ort_threads)  # made here, not in the next render (a slider move)
            with self._lock:  # the swap itself is assignments: a render sees old or new, never a mix
                if self._ort is not base:
                    continue  # a background export installed its graph meanwhile: give it these weights
                self._masters[net] = staged
                setattr(self, net, fast)
                self._ort = ort
                if net == "G":
                    self._generation += 1
                return

    # -- raising core ----------------------------------------------------------------------------
    def _as_latents(self, z) -> torch.Tensor:
        t = z if isinstance(z, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
        if t.dim() == 1:
            t = t[None]
        if t.dim() != 2 or t.shape[1] != self.latent_dim:
            raise UserError(f"latents must be shaped (N, {self.latent_dim}) (got {tuple(t.shape)})")
        return t.to(self.device, torch.float32)

    def _set_threads(self, threads: int | None) -> int:
        threads = threads or self.threads
        if threads:
            torch.set_num_threads(threads)
        return threads or torch.get_num_threads()

    def generate(self, z, threads: int | None = None, *, interactive: bool = False) -> torch.Tensor:
        """G(z) for z (N, nz) (numpy or torch), float (N, 3, S, S) in [-1, 1] on the device.
        threads: intra-op threads for this call (default: the Renderer's `threads`). interactive:
        small batches may take the faster backend (render() and reconstruct() ask for it); batch
        jobs (video export) keep the reference path, so every frame of a walk comes from one."""
        t = self._as_latents(z)
        with self._lock, torch.inference_mode():
            threads = self._set_threads(threads)
            if interactive and self._ort is not None and len(t) <= ORT_MAX_BATCH:
                self._ort_threads = threads
                return self._ort(t, threads)
            if len(t) <= self.max_batch:
                return self.G(t)
            return torch.cat([self.G(t[i:i + self.max_batch]) for i in range(0, len(t), self.max_batch)])

    def render_uint8(self, z, threads: int | None = None, *, interactive: bool = False) -> np.ndarray:
        """G(z) as uint8 (N, S, S, 3). Raises on error."""
        with torch.inference_mode():
            return to_uint8(self.generate(z, threads, interactive=interactive)).cpu().numpy()

    def _photos(self, photos) -> torch.Tensor:
        arr = np.asarray(photos)
        if arr.ndim == 3:
            arr = arr[None]
        s = self.image_size
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (s, s, 3):
            raise UserError(f"photos must be uint8 shaped ({s}, {s}, 3) or (N, {s}, {s}, 3) "
                            f"(got {arr.dtype} {arr.shape})")
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)
        return from_uint8(x).contiguous(memory_format=torch.channels_last)

    def encode_mu(self, photos, threads: int | None = None) -> np.ndarray:
        """The encoder's mu for uint8 photos, float32 (N, nz). Raises on error."""
        if self.E is None:
            raise UserError("this model has no encoder (only a VAE/GAN can encode photos)")
        x = self._photos(photos)
        with self._lock, torch.inference_mode():
            self._set_threads(threads)
            mus = [self.E(x[i:i + self.max_batch])[0] for i in range(0, len(x), self.max_batch)]
        return torch.cat(mus).float().cpu().numpy()

    # -- result-returning API for UIs -------------------------------------------------------------
    def render(self, z, threads: int | None = None) -> RenderResult:
        """z (N, nz) or (nz,) -> RenderResult(images uint8 (N, S, S, 3)); errors in .error."""
        start = time.perf_counter()
        try:
            images = self.render_uint8(z, threads, interactive=True)
            return RenderResult(images=images, ms=(time.perf_counter() - start) * 1000)
        except Exception as exc:  # noqa: BLE001 - the UI shows it and carries on
            return RenderResult(ms=(time.perf_counter() - start) * 1000, error=error_text(exc))

    def encode(self, photos, threads: int | None = None) -> RenderResult:
        """uint8 photo(s) (S, S, 3) or (N, S, S, 3) -> RenderResult(z = encoder mu)."""
        start = time.perf_counter()
        try:
            mu = self.encode_mu(photos, threads)
            return RenderResult(z=mu, ms=(time.perf_counter() - start) * 1000)
        except Exception as exc:  # noqa: BLE001 - into the result, never raised
            return RenderResult(ms=(time.perf_counter() - start) * 1000, error=error_text(exc))

    def reconstruct(self, photos, threads: int | None = None) -> RenderResult:
        """uint8 photo(s) -> RenderResult(z = mu, images = G(mu)): the VAE/GAN reconstruction."""
        start = time.perf_counter()
        try:
            mu = self.encode_mu(photos, threads)
            images = self.render_uint8(mu, threads, interactive=True)
            return RenderResult(images=images, z=mu, ms=(time.perf_counter() - start) * 1000)
        except Exception as exc:  # noqa: BLE001 - into the result, never raised
            return RenderResult(ms=(time.perf_counter() - start) * 1000, error=error_text(exc))


# -- image helpers ----------------------------------------------------------------------------------
UPSCALE_METHODS = UPSCALE_NAMES


def upscale_tensor(x: torch.Tensor, size: int, method: str = "nearest") -> torch.Tensor:
    """Resize float images (N, C, H, W) to size×size. Nearest by an integer factor is a pure
    repeat (exact pixel blocks); otherwise torch's interpolate."""
    if method not in UPSCALE_METHODS:
        raise UserError(f"unknown upscale method {method!r}: use nearest or bicubic")
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if method == "nearest" and size % h == 0 and size % w == 0 and size // h == size // w:
        f = size // h
        n, c = x.shape[:2]
        return x[:, :, :, None, :, None].expand(n, c, h, f, w, f).reshape(n, c, h * f, w * f)
    if method == "nearest":
        return F.interpolate(x, size=(size, size), mode="nearest-exact")
    # Shrinking (a size below the model's) needs the antialiasing filter or it aliases.
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=size < min(h, w))


def upscale(images: np.ndarray, size: int, method: str = "nearest") -> np.ndarray:
    """uint8 images (N, H, W, 3) or (H, W, 3) -> uint8 resized to size×size."""
    arr = np.asarray(images)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.shape[1:3] == (size, size):
        out = arr
    elif method == "nearest" and size % arr.shape[1] == 0 and size % arr.shape[2] == 0 \
            and size // arr.shape[1] == size // arr.shape[2]:
        f = size // arr.shape[1]
        out = arr.repeat(f, axis=1).repeat(f, axis=2)
    else:
        x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
        y = upscale_tensor(x, size, method)
        out = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
    return out[0] if single else out


# -- whole video frames from generator output (used by the walk export) ------------------------------
def _grid_geometry(n: int, rows: int, cols: int, cell: int, pad: int) -> tuple[int, int]:
    if n % (rows * cols):
        raise ValueError(f"{n} images do not fill whole {rows}x{cols} frames")
    return rows * cell + (rows - 1) * pad, cols * cell + (cols - 1) * pad


def frames_rgb(x: torch.Tensor, rows: int = 1, cols: int = 1, size: int | None = None, method: str = "nearest",
               pad: int = 2) -> np.ndarray:
    """Generator output (B·rows·cols, 3, S, S) in [-1, 1] -> B frames, uint8 (B, H, W, 3): each cell
    upscaled to size×size and the cells tiled row-major with `pad` black px between them."""
    s = x.shape[-1]
    size = size or s
    h, w = _grid_geometry(len(x), rows, cols, size, pad)
    b = len(x) // (rows * cols)
    with torch.inference_mode():
        if method == "nearest" and size % s == 0:  # quantise small, then repeat bytes
            f = size // s
            cells = to_uint8(x)
            n = len(cells)
            cells = cells[:, :, None, :, None, :].expand(n, s, f, s, f, 3).reshape(n, size, size, 3)
        else:
            cells = to_uint8(upscale_tensor(x.float(), size, method))
        if rows * cols == 1:
            return cells.cpu().numpy()
        out = torch.zeros((b, h, w, 3), dtype=torch.uint8, device=cells.device)
        cells = cells.view(b, rows * cols, size, size, 3)
        for i in range(rows * cols):
            r, c = divmod(i, cols)
            out[:, r * (size + pad):r * (size + pad) + size, c * (size + pad):c * (size + pad) + size] = cells[:, i]
        return out.cpu().numpy()


# BT.601 limited range ("studio swing"), R'G'B' in 0..255: the matrix swscale uses by default, and the
# one the video writers tag their streams with.
_YUV601 = torch.tensor([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255
_YUV_OFFSET = torch.tensor([16.0, 128.0, 128.0])


def frames_yuv420(x: torch.Tensor, rows: int = 1, cols: int = 1, size: int | None = None,
                  pad: int = 2) -> np.ndarray:
    """Like frames_rgb with nearest upscaling by a whole factor, but straight to I420 planes
    (B, H·3/2, W) for an H.264/VP9 writer. Converting the small S×S cells before upscaling costs
    1/factor² of converting whole frames (swscale's RGB→YUV was a third of the export time)."""
    s = x.shape[-1]
    size = size or s
    if size % s or size % 2 or pad % 2:
        raise ValueError("frames_yuv420 needs a whole upscale factor, an even cell size and an even pad")
    f = size // s
    h, w = _grid_geometry(len(x), rows, cols, size, pad)
    b, cells_per_frame = len(x) // (rows * cols), rows * cols
    with torch.inference_mode():
        rgb = x.float().clamp(-1, 1).add(1).mul_(127.5).round_()  # the same RGB that render() gives
        yuv = torch.einsum("oc,nchw->nohw", _YUV601.to(rgb.device), rgb) + _YUV_OFFSET.to(rgb.device)[:, None, None]
        n = len(yuv)
        luma = yuv[:, 0].round_().clamp_(0, 255).to(torch.uint8)
        luma = luma[:, :, None, :, None].expand(n, s, f, s, f).reshape(n, size, size)
        chroma = yuv[:, 1:]
        if f % 2 == 0:  # each 2×2 chroma sample lies inside one source pixel
            g = f // 2
            chroma = chroma[:, :, :, None, :, None].expand(n, 2, s, g, s, g).reshape(n, 2, size // 2, size // 2)
        else:  # average the 2×2 blocks of the upscaled chroma, as a 4:2:0 downsampler would
            chroma = chroma[:, :, :, None, :, None].expand(n, 2, s, f, s, f).reshape(n, 2, size, size)
            chroma = F.avg_pool2d(chroma, 2)
        chroma = chroma.round_().clamp_(0, 255).to(torch.uint8)
        out = torch.empty((b, h * w * 3 // 2), dtype=torch.uint8, device=x.device)
        y_plane = out[:, : h * w].view(b, h, w)
        uv_plane = out[:, h * w:].view(b, 2, h // 2, w // 2)
        if cells_per_frame == 1:
            y_plane.copy_(luma)
            uv_plane.copy_(chroma)
        else:
            y_plane.fill_(16)
            uv_plane.fill_(128)
            luma = luma.view(b, cells_per_frame, size, size)
            chroma = chroma.view(b, cells_per_frame, 2, size // 2, size // 2)
            step, half = size + pad, size // 2
            for i in range(cells_per_frame):
                r, c = divmod(i, cols)
                y_plane[:, r * step:r * step + size, c * step:c * step + size] = luma[:, i]
                uv_plane[:, :, r * step // 2:r * step // 2 + half, c * step // 2:c * step // 2 + half] = chroma[:, i]
        return out.view(b, h * 3 // 2, w).cpu().numpy()

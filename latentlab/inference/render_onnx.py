"""ONNX Runtime inference for the Renderer's small interactive batches on the CPU.

Measured with devtools/bench/explorer.py (`--backends`): for one 64 px DCGAN image ONNX Runtime's CPU
kernels take a fraction of torch's time (torch's per-layer overhead dominates at batch 1), while
at batch 32 the two are even. So the Renderer sends batches of up to ORT_MAX_BATCH latents here
and larger ones (walks, grids) to torch. The graph is the Renderer's own BatchNorm-folded
generator, exported in memory with torch.onnx's TorchScript-based exporter (the torch.export
based one takes tens of seconds for the same graph, too long for a weight swap). A weight swap
rewrites the graph's initializers in place of a new export. Outputs agree with the torch path to
float rounding: a uint8 pixel may differ by one level (1/255), tested in tests/test_render.py.
"""

from __future__ import annotations

import copy
import io
import threading
import warnings

import numpy as np
import torch

ORT_MAX_BATCH = 8


def available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _export(net: torch.nn.Module, latent_dim: int) -> bytes:
    net = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore")
        # No constant folding: every parameter stays an initializer named by its state-dict key,
        # which is what lets a weight swap replace them by name.
        torch.onnx.export(net, (torch.zeros(2, latent_dim),), buf, input_names=["z"], output_names=["images"],
                          dynamic_axes={"z": {0: "n"}, "images": {0: "n"}}, do_constant_folding=False,
                          dynamo=False)
    return buf.getvalue()


class OrtGenerator:
    """One generator as an ONNX graph; run(z, threads) with a session per intra-op thread count
    (ONNX Runtime fixes the count when a session is made), created on first use."""

    def __init__(self, net: torch.nn.Module, latent_dim: int, *, model: bytes | None = None):
        self.latent_dim = latent_dim
        self.model = model if model is not None else _export(net, latent_dim)
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()

    def with_weights(self, net: torch.nn.Module) -> OrtGenerator:
        """The same graph with `net`'s (same architecture) parameters; re-exports when one of them
        is not an initializer of the graph under its own name."""
        import onnx
        from onnx import numpy_helper

        proto = onnx.load_from_string(self.model)
        params = {k: v.detach().cpu().numpy() for k, v in net.named_parameters()}
        inits = {init.name: init for init in proto.graph.initializer}
        if not all(name in inits and tuple(value.shape) == tuple(inits[name].dims) for name, value in params.items()):
            return OrtGenerator(net, self.latent_dim)
        for name, value in params.items():
            inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return OrtGenerator(net, self.latent_dim, model=proto.SerializeToString())

    def session(self, threads: int):
        with self._lock:
            sess = self._sessions.get(threads)
            if sess is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                # No spin-waiting between renders: the cores go back to training at once.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                sess = ort.InferenceSession(self.model, options, providers=["CPUExecutionProvider"])
                self._sessions[threads] = sess
            return sess

    def __call__(self, z: torch.Tensor, threads: int) -> torch.Tensor:
        z = np.ascontiguousarray(z.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session(max(1, threads)).run(None, {"z": z})[0])


def ort_generator(G: torch.nn.Module, latent_dim: int) -> OrtGenerator | None:
    """G as an ONNX Runtime graph, or None (torch renders) when onnxruntime is missing or G does
    not export."""
    if not available():
        return None
    try:
        return OrtGenerator(G, latent_dim)
    except Exception:  # noqa: BLE001 - an architecture the exporter cannot take renders with torch
        return None

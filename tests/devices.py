"""Device parameters shared by the tests that must hold on every device the app trains on.

`@pytest.mark.parametrize("device", DEVICES)` runs a test on the CPU everywhere and, marked `cuda`,
on a CUDA GPU where there is one (`pytest -m cuda` selects exactly those; scripts/gpu_check.sh runs
them).
"""

import os

import pytest
import torch

# cuBLAS reads this when it first starts; deterministic kernels need it (a no-op without CUDA).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

CUDA = pytest.param("cuda", marks=[pytest.mark.cuda,
                                   pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")])
DEVICES = ["cpu", CUDA]


class deterministic:
    """Deterministic kernels for a bit-exact comparison of two runs; an op without one raises,
    naming itself, instead of making the runs differ by a rounding."""

    def __enter__(self):
        self._before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        return self

    def __exit__(self, *exc):
        torch.use_deterministic_algorithms(self._before[0])
        torch.backends.cudnn.benchmark = self._before[1]

"""Training batches from an ImageSet: a pure function of (seed, step), so resuming needs no sampler state.

Step s belongs to epoch s // steps_per_epoch; that epoch's order is numpy Generator(seed + epoch)'s
permutation of the training images (the held-out tail excluded), cut into full batches.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.config import UserError

_GPU_SHARE = 0.25  # keep the uint8 set on the GPU only when it takes at most this share of free memory


class BatchFeeder:
    def __init__(self, imageset, batch: int, seed: int, device: str | torch.device = "cpu",
                 channels_last: bool = True):
        self.imageset = imageset
        self.images = imageset.images
        self.batch = int(batch)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.channels_last = bool(channels_last)
        self.train_count = len(imageset) - int(imageset.holdout)
        if self.batch < 1:
            raise UserError(f"batch must be at least 1 (got {self.batch})")
        self.steps_per_epoch = self.train_count // self.batch
        if self.steps_per_epoch < 1:
            raise UserError(f"data source {imageset.spec}: {self.train_count} training images, fewer than "
                            f"one batch of {self.batch}")
        _, h, w, c = self.images.shape
        self.shape = (h, w, c)
        self._perm_epoch = -1
        self._perm: np.ndarray | None = None
        self._resident: torch.Tensor | None = None
        self._pinned: list[torch.Tensor] = []
        self._events: list = []
        self._turn = 0
        self._minus_one: dict = {}
        self._host = np.empty((self.batch, h, w, c), dtype=np.uint8)
        if self.device.type == "cuda":
            self._setup_cuda()

    # -- placement -------------------------------------------------------------------------------
    def _setup_cuda(self) -> None:
        free, _ = torch.cuda.mem_get_info(self.device)
        nbytes = int(np.prod(self.images.shape))
        if nbytes <= free * _GPU_SHARE:
            gpu = torch.empty(tuple(self.images.shape), dtype=torch.uint8, device=self.device)
            chunk = max(1, (64 << 20) // max(1, nbytes // len(self.images)))
            staging = torch.empty((chunk, *self.shape), dtype=torch.uint8).pin_memory()
            for start in range(0, len(self.images), chunk):
                stop = min(len(self.images), start + chunk)
                staging[: stop - start].numpy()[...] = self.images[start:stop]
                gpu[start:stop].copy_(staging[: stop - start])
            torch.cuda.synchronize(self.device)
            self._resident = gpu
        else:
            # Two pinned buffers in turn: one is copied to the GPU while the next batch is gathered.
            self._pinned = [torch.empty((self.batch, *self.shape), dtype=torch.uint8).pin_memory() for _ in range(2)]
            self._events = [None, None]

    @property
    def resident(self) -> bool:
        """Whether the uint8 set lives on the device (batches then never touch the host)."""
        return self._resident is not None

    # -- indices ---------------------------------------------------------------------------------
    def permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng(self.seed + int(epoch)).permutation(self.train_count)
            self._perm_epoch = int(epoch)
        return self._perm

    def indices(self, step: int) -> np.ndarray:
        """The image indices of a step's batch."""
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be 0 or more (got {step})")
        epoch, i = divmod(step, self.steps_per_epoch)
        return self.permutation(epoch)[i * self.batch:(i + 1) * self.batch]

    # -- batches ---------------------------------------------------------------------------------
    def get(self, step: int) -> torch.Tensor:
        """Float (B, 3, H, W) in [-1, 1] on the device (channels_last memory unless disabled)."""
        idx = self.indices(step)
        if self.device.type == "cpu":
            return self._cpu_float(self._take(idx, self._host))
        return self._to_float(self._gather(idx))

    def _take(self, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
        # mode="clip" writes straight into `out` (the indices are valid); the default mode buffers a copy.
        return np.take(self.images, idx, axis=0, out=out, mode="clip")

    def holdout_batch(self, n: int) -> torch.Tensor:
        """The first n held-out images (fewer when fewer are held out), float in [-1, 1].

        With nothing held out (holdout = 0) these are the set's first n images, so a reconstruction
        grid still has inputs; they are then training images.
        """
        held = int(self.imageset.holdout)
        lo = self.train_count if held else 0
        hi = lo + max(0, min(int(n), held if held else len(self.imageset)))
        if self._resident is not None:
            return self._to_float(self._resident[lo:hi])
        host = np.ascontiguousarray(self.images[lo:hi])
        if self.device.type == "cpu":
            return self._cpu_float(host)
        return self._to_float(torch.from_numpy(host).to(self.device))

    def _cpu_float(self, u8: np.ndarray) -> torch.Tensor:
        # numpy, single-threaded on purpose: on a shared 2-core machine torch's threaded elementwise
        # kernels stall whenever a peer thread is descheduled (20x slower measured), numpy never does.
        out = np.multiply(u8, np.float32(2.0 / 255.0), dtype=np.float32)
        np.subtract(out, np.float32(1.0), out=out)
        # NHWC memory viewed as NCHW is exactly channels_last.
        x = torch.from_numpy(out).permute(0, 3, 1, 2)
        return x if self.channels_last else x.contiguous()

    def _gather(self, idx: np.ndarray) -> torch.Tensor:
        """uint8 NHWC batch on the (non-CPU) device."""
        if self._resident is not None:
            index = torch.from_numpy(idx).to(self.device, non_blocking=True)
            return self._resident.index_select(0, index)
        if self._pinned:
            k = self._turn
            self._turn ^= 1
            if self._events[k] is not None:
                self._events[k].synchronize()  # its previous copy to the GPU has finished
            buf = self._pinned[k]
            self._take(idx, buf.numpy())
            out = buf.to(self.device, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            self._events[k] = event
            return out
        return torch.from_numpy(self._take(idx, self._host)).to(self.device)

    def _to_float(self, u8: torch.Tensor) -> torch.Tensor:
        # One pass on the device: -1 + (2/255) * u8 promotes to float32 and keeps the NHWC memory.
        minus_one = self._minus_one.get(u8.device)
        if minus_one is None:
            minus_one = self._minus_one[u8.device] = torch.tensor(-1.0, device=u8.device)
        x = torch.add(minus_one, u8, alpha=2.0 / 255.0).permute(0, 3, 1, 2)
        return x if self.channels_last else x.contiguous()

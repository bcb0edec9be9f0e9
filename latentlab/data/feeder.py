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
    """Where the batches come from (`placement`): "host" (the CPU: gathered by numpy into reused
    memory), "resident" (the uint8 set kept on the device, batches drawn there by index) or "prefetch"
    (pinned host memory, one batch ahead on a side stream; latentlab/data/prefetch.py). Automatic:
    host on the CPU; on a GPU resident when data.on_device and the set takes at most a quarter of the
    free memory, else prefetch; on MPS host, then copied. Naming a placement is for tests: every
    one also runs on the CPU.

    Augmentation (data.hflip, data.jitter) is drawn from (seed, step) alone, like the order, and applied
    to the uint8 batch where it lives: on the device for resident and prefetch.
    """

    def __init__(self, imageset, batch: int, seed: int, device: str | torch.device = "cpu",
                 channels_last: bool = True, *, on_device: bool = True, hflip: bool = False, jitter: int = 0,
                 placement: str | None = None):
        self.imageset = imageset
        self.images = imageset.images
        self.batch = int(batch)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.channels_last = bool(channels_last)
        self.hflip, self.jitter = bool(hflip), int(jitter)
        self.train_count = len(imageset) - int(imageset.holdout)
        if self.batch < 1:
            raise UserError(f"batch must be at least 1 (got {self.batch})")
        self.steps_per_epoch = self.train_count // self.batch
        if self.steps_per_epoch < 1:
            raise UserError(f"data source {imageset.spec}: {self.train_count} training images, fewer than "
                            f"one batch of {self.batch}")
        _, h, w, c = self.images.shape
        self.shape = (h, w, c)
        self._perm: tuple[int, np.ndarray] | None = None
        self._resident: torch.Tensor | None = None
        self._prefetch = None
        self._minus_one: dict = {}
        self._host = np.empty((self.batch, h, w, c), dtype=np.uint8)
        if placement is None:  # MPS keeps the host path: gathered here, then copied
            placement = "host" if self.device.type != "cuda" else \
                "resident" if on_device and self._fits_on_device() else "prefetch"
        if placement not in ("host", "resident", "prefetch"):
            raise ValueError(f"placement must be host, resident or prefetch (got {placement!r})")
        self.placement = placement
        if placement == "resident":
            self._resident = self._upload()
        elif placement == "prefetch":
            from latentlab.data.prefetch import Prefetcher

            self._prefetch = Prefetcher(lambda step, out: self._take(self.indices(step), out),
                                        (self.batch, h, w, c), self.device)

    # -- placement -------------------------------------------------------------------------------
    def _fits_on_device(self) -> bool:
        free, _ = torch.cuda.mem_get_info(self.device)
        return int(np.prod(self.images.shape)) <= free * _GPU_SHARE

    def _upload(self) -> torch.Tensor:
        """The whole uint8 set on the device, copied in 64 MB pieces through one pinned buffer."""
        cuda = self.device.type == "cuda"
        n = len(self.images)
        out = torch.empty(tuple(self.images.shape), dtype=torch.uint8, device=self.device)
        chunk = max(1, (64 << 20) // max(1, int(np.prod(self.shape))))
        staging = torch.empty((min(chunk, n), *self.shape), dtype=torch.uint8, pin_memory=cuda)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            staging[: stop - start].numpy()[...] = self.images[start:stop]
            out[start:stop].copy_(staging[: stop - start])
            if cuda:
                torch.cuda.synchronize(self.device)  # before the staging buffer is refilled
        return out

    @property
    def resident(self) -> bool:
        """Whether the uint8 set lives on the device (batches then never touch the host)."""
        return self._resident is not None

    # -- indices ---------------------------------------------------------------------------------
    def permutation(self, epoch: int) -> np.ndarray:
        # One (epoch, order) pair replaced whole: the prefetch thread and the caller may both ask.
        cached = self._perm
        if cached is None or cached[0] != int(epoch):
            cached = (int(epoch), np.random.default_rng(self.seed + int(epoch)).permutation(self.train_count))
            self._perm = cached
        return cached[1]

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
        if self.placement == "host":
            u8 = self._take(self.indices(step), self._host)
            if self.hflip or self.jitter:
                # Whole pixels (3 bytes) moved at once: a third of the per-element work of a uint8 gather.
                pixels = np.ascontiguousarray(u8).reshape(len(u8), -1).view(np.dtype((np.void, u8.shape[-1])))
                u8 = np.take_along_axis(pixels, self._flat_index(step), axis=1).view(np.uint8).reshape(u8.shape)
            if self.device.type == "cpu":
                return self._cpu_float(u8)
            return self._to_float(torch.from_numpy(u8).to(self.device))
        if self.placement == "resident":
            u8 = self._resident.index_select(0, self._to_device(self.indices(step)))
        else:
            u8 = self._prefetch.get(step)
        if self.hflip or self.jitter:
            b, h, w, c = u8.shape
            index = self._to_device(self._flat_index(step))[:, :, None].expand(b, h * w, c)
            u8 = torch.gather(u8.reshape(b, h * w, c), 1, index).view(b, h, w, c)
        return self._to_float(u8)

    def augmentation(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Source rows (B, H) and columns (B, W) of each output pixel of the step's batch: a shift of
        up to `jitter` px each way (edges repeated), then a left-right mirror of a random half."""
        h, w, _ = self.shape
        n = self.batch
        rng = np.random.default_rng([self.seed, int(step), 0x617567])  # its own stream, apart from the order
        dy, dx = (rng.integers(-self.jitter, self.jitter + 1, size=(2, n)) if self.jitter
                  else np.zeros((2, n), np.int64))
        rows = np.clip(np.arange(h)[None, :] + dy[:, None], 0, h - 1)
        cols = np.clip(np.arange(w)[None, :] + dx[:, None], 0, w - 1)
        if self.hflip:
            cols = np.where((rng.random(n) < 0.5)[:, None], w - 1 - cols, cols)
        return rows.astype(np.int64), cols.astype(np.int64)

    def _flat_index(self, step: int) -> np.ndarray:
        """augmentation(step) as the source pixel (row * W + column) of each output pixel, (B, H*W)."""
        rows, cols = self.augmentation(step)
        return (rows[:, :, None] * self.shape[1] + cols[:, None, :]).reshape(len(rows), -1)

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        # Pageable memory: the copy is staged at once, with no wait for the device.
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device, non_blocking=True)

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

    def _to_float(self, u8: torch.Tensor) -> torch.Tensor:
        # One pass on the device: -1 + (2/255) * u8 promotes to float32 and keeps the NHWC memory.
        minus_one = self._minus_one.get(u8.device)
        if minus_one is None:
            minus_one = self._minus_one[u8.device] = torch.tensor(-1.0, device=u8.device)
        x = torch.add(minus_one, u8, alpha=2.0 / 255.0).permute(0, 3, 1, 2)
        return x if self.channels_last else x.contiguous()

"""One batch ahead through pinned host memory, for a data set too big to keep on the GPU.

While step s runs, a helper thread gathers the images of step s+1 into a pinned buffer and copies
them to the device on a side stream; the step that asks for them waits on the GPU (an event), not on
the host. A batch asked for out of turn (a resume, a jump) is loaded on the spot. The same logic runs
on the CPU, where the buffers are plain memory and the copy is a clone (the tests exercise it there).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch


class Prefetcher:
    def __init__(self, take: Callable[[int, np.ndarray], object], shape: tuple[int, ...], device: torch.device):
        """take(step, out) writes the uint8 batch of `step` into `out` (shape `shape`)."""
        self.take = take
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self._buffers = [torch.empty(shape, dtype=torch.uint8, pin_memory=cuda) for _ in range(2)]
        self._copied: list = [None, None]  # per buffer: the event of its latest copy to the device
        self._stream = torch.cuda.Stream(self.device) if cuda else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="latentlab-prefetch")
        self._turn = 0
        self._pending: tuple[int, Future] | None = None
        self.hits = 0  # batches that were ready (or on their way) when asked for

    def get(self, step: int) -> torch.Tensor:
        """The uint8 batch of `step` on the device, usable on the current stream; step+1 starts loading."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == step:
            self.hits += 1
            out, event = pending[1].result()
        else:
            if pending is not None:
                pending[1].result()  # an unused load still owns its buffer until it is done
            out, event = self._submit(step).result()
        if event is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(event)
            out.record_stream(current)  # allocated on the side stream, used on this one
        self._pending = (step + 1, self._submit(step + 1))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, step: int) -> Future:
        k, self._turn = self._turn, self._turn ^ 1
        return self._pool.submit(self._load, step, k)

    def _load(self, step: int, k: int):
        buf = self._buffers[k]
        if self._copied[k] is not None:
            self._copied[k].synchronize()  # this buffer's previous copy to the device has finished
        self.take(step, buf.numpy())
        if self._stream is None:
            return buf.to(self.device, copy=True), None
        with torch.cuda.stream(self._stream):
            out = buf.to(self.device, non_blocking=True)
            event = torch.cuda.Event()
            event.record(self._stream)
        self._copied[k] = event
        return out, event

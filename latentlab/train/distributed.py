"""Single-process and torchrun data-parallel contexts for the engine.

Under torchrun every rank trains on its slice of the same global batch; gradients are averaged
across ranks before each optimizer step, and the balancing rules decide on errors averaged across
ranks, so every rank skips the same updates. Rank 0 alone writes the run directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from latentlab.config import UserError


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device | None = None

    @classmethod
    def single(cls) -> "DistContext":
        return cls()

    @classmethod
    def from_env(cls, device: str = "auto", timeout_s: float = 300.0) -> "DistContext":
        """Join the process group torchrun describes in the environment (single() when absent)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls.single()
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and device in ("auto", "cuda")
        if use_cuda:
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(seconds=timeout_s))
        return cls(rank, world, local_rank, torch.device("cuda", local_rank) if use_cuda else torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local_batch(self, batch: int) -> int:
        if batch % self.world:
            raise UserError(f"train.batch {batch} is the global batch and must divide by the {self.world} ranks")
        return batch // self.world

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        if self.world == 1:
            return x
        n = x.shape[0] // self.world
        return x[self.rank * n:(self.rank + 1) * n]

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def build_once(self, fn):
        """Rank 0 builds (e.g. the decoded cache) while the others wait, then they reuse it."""
        if self.world == 1:
            return fn()
        if self.is_main:
            result = fn()
            self.barrier()
            return result
        self.barrier()
        return fn()

    def mean_floats(self, values: torch.Tensor) -> list[float]:
        if self.world > 1:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.world
        return values.tolist()

    def all_reduce_grads(self, net: torch.nn.Module) -> None:
        """Average gradients across ranks in one flat bucket per net."""
        if self.world == 1:
            return
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset:offset + n].view_as(g))
            offset += n

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()

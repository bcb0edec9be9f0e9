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
from torch import nn

from latentlab.config import UserError

DEFAULT_TIMEOUT_S = float(os.environ.get("LATENTLAB_DIST_TIMEOUT", "1800"))


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device | None = None

    @classmethod
    def single(cls) -> DistContext:
        return cls()

    @classmethod
    def from_env(cls, device: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> DistContext:
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

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on any (a stop asked of one rank stops them all at
        the same step; a rank that left the loop alone would leave its peers waiting in a collective)."""
        if self.world == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

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

    def convert_batchnorm(self, net: nn.Module) -> nn.Module:
        """Swap BatchNorm layers for CrossRankBatchNorm so statistics span the global batch."""
        if self.world == 1:
            return net
        for name, child in net.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, CrossRankBatchNorm):
                replacement = CrossRankBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                                 child.track_running_stats)
                replacement.load_state_dict(child.state_dict())
                setattr(net, name, replacement.to(next(child.buffers()).device))
            else:
                self.convert_batchnorm(child)
        return net

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            # Every rank arrives before any tears down: a rank that leaves while a peer still talks to
            # it (rank 0 hosts the rendezvous store) can abort that peer instead of letting it exit 0.
            try:
                dist.barrier()
            except RuntimeError:
                pass  # a peer is gone already; tear down what is left
            dist.destroy_process_group()


class CrossRankBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are all-reduced across ranks (any backend, CPU included).

    torch's SyncBatchNorm runs on GPUs only; this one also runs under gloo, so 2 ranks x batch B
    compute what 1 rank x batch 2B computes. Same parameters and buffers as BatchNorm1d/2d, so
    checkpoints are interchangeable with single-process runs.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected 2D or 4D input (got {x.dim()}D)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device, dtype=torch.float32)
        xf = x.float()
        packed = torch.cat([xf.sum(dims), (xf * xf).sum(dims), count])
        packed = all_reduce(packed)  # differentiable: its backward all-reduces the gradient
        c = x.shape[1]
        total = packed[-1]
        mean = packed[:c] / total
        var = packed[c:2 * c] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * total / max(float(total) - 1, 1.0), m)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

#!/usr/bin/env python3
"""Training-step throughput: images/s and FLOP/s as a fraction of an fp32 2048² matmul measured in
the same run (docs/design.md target on the 2-core CPU: >= 75%). On CUDA also batch 128 and 512.

    .venv/bin/python scripts/bench_train.py [--preset dcgan] [--batch 64] [--steps 20] [--device auto]

FLOPs per training image of a GAN step (the engine's step, steps.py): D forward+backward on a real
and a fake image (2 x 3 x D), the G pass's D forward and input-gradient backward (2 x D), and G's
forward+backward (3 x G): 8·D + 3·G, with D and G the analytic forward FLOPs of models/flops.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from latentlab.config import apply_override, load_preset
from latentlab.models import discriminator_flops, generator_flops
from latentlab.train.engine import Trainer, resolve_device
from latentlab.train.steps import gan_step


def matmul_flops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_rate(preset: str, batch: int, steps: int, device: str, sets: list[str]) -> tuple[float, float, object]:
    cfg = load_preset(preset)
    cfg.data.source = "synthetic"
    cfg.data.synthetic_count = max(2 * batch + 64, 512)
    cfg.train.batch, cfg.train.device, cfg.train.steps = batch, device, steps
    for s in sets:
        apply_override(cfg, s)
    trainer = Trainer(cfg, None)
    for _ in trainer.setup():
        pass
    trainer.nets_train(True)
    for step in range(3):  # warm-up (allocator, kernels)
        gan_step(trainer, trainer.feeder.get(step))
    _sync(trainer.device)
    times = []
    for step in range(3, 3 + steps):
        t0 = time.perf_counter()
        gan_step(trainer, trainer.feeder.get(step))
        _sync(trainer.device)
        times.append(time.perf_counter() - t0)
    per_step = statistics.median(times)
    flops_per_image = 8 * discriminator_flops(cfg.model) + 3 * generator_flops(cfg.model)
    return batch / per_step, batch * flops_per_image / per_step, cfg


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="dcgan")
    p.add_argument("--batch", type=int, action="append")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="auto")
    p.add_argument("--set", action="append", default=[])
    args = p.parse_args()
    device = resolve_device(args.device)
    batches = args.batch or ([128, 512] if device.type == "cuda" else [64])
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    mm = matmul_flops(device)
    print(f"fp32 2048² matmul: {mm / 1e9:.1f} GFLOP/s")
    for batch in batches:
        img_s, flops, cfg = step_rate(args.preset, batch, args.steps, args.device, args.set)
        mm_after = matmul_flops(device)
        ref = (mm + mm_after) / 2
        print(f"{args.preset} {cfg.model.image_size}px batch {batch}: {img_s:.0f} images/s, "
              f"{flops / 1e9:.1f} GFLOP/s = {100 * flops / ref:.0f}% of matmul ({ref / 1e9:.1f} GFLOP/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

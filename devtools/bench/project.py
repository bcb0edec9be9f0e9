"""Benchmark photo alignment and projection on this CPU (figures in docs/benchmarks.md).

Usage: OMP_NUM_THREADS=1 .venv/bin/python -m devtools.bench.project [--threads 1] [--quick]

1. Alignment: synthetic faces pasted at random places, scales (0.3-1× the picture) and tilts (±25°)
   into 640 px noisy pictures: ms per photo (detection + alignment) and the share of faces whose eye
   centres land within 2 px of the convention's points at 64 px.
2. Projection into the `dcgan` preset's G (64 px, nz 100) of its own samples: error against steps,
   seconds per step, and the time until the error is within 2 grey levels (or 10%) of the 150-step
   error ("visually converged": no difference to see). No trained 64 px DCGAN ships with latentlab and DCGAN's N(0, 0.02) start renders
   near-flat grey, so G's weights are drawn at He scale: a varied, untrained G with the preset's
   exact cost per step; the error curve shows the optimiser on a non-trivial target.
3. VAE/GAN (the bundled 32 px demo) on held-out synthetic faces: the encoder's μ alone against μ
   refined by projection.
Targets (docs/design.md): projection visually converged in ≤ 3 s; alignment ≤ 100 ms per photo.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

import numpy as np
import torch

from latentlab.config import load_preset
from latentlab.data.align import align_photo, convention
from latentlab.data.synthetic import face_in_picture
from latentlab.data.synthetic_render import render_many
from latentlab.inference.photo import project
from latentlab.inference.render import Renderer
from latentlab.models import build_generator


def bench_alignment(n: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    conv = convention("synthetic")
    rng = np.random.default_rng(2026)
    times, cpu, errors, missed = [], [], [], 0
    for _ in range(n):
        picture, eyes = face_in_picture(rng, int(rng.integers(0, 20000)), 640, rng.uniform(0.3, 1.0),
                                        rng.uniform(-25, 25))
        start, c0 = time.perf_counter(), time.process_time()
        try:
            aligned, _ = align_photo(picture, conv, 64)
        except Exception:  # noqa: BLE001 - no face found: counted
            aligned = None
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - c0)
        if aligned is None:
            missed += 1
            continue
        landed = eyes @ aligned.matrix[:, :2].T + aligned.matrix[:, 2]
        errors.append(float(np.abs(landed - conv.points(64)).max()))
    e = np.array(errors)
    print(f"alignment, {n} photos of 640x640: median {statistics.median(times) * 1000:.0f} ms wall, "
          f"{statistics.median(cpu) * 1000:.0f} ms CPU (p90 {np.percentile(cpu, 90) * 1000:.0f}) per photo; face found in {n - missed}/{n}; "
          f"eyes within 2 px at 64 px: {(e <= 2).sum()}/{n} ({(e <= 2).mean() * 100:.0f}% of those found); "
          f"median eye error {np.median(e):.2f} px")


def convergence(G, targets, steps: int, restarts: int) -> None:
    curves, seconds, cpu = [], [], []
    for i, target in enumerate(targets):
        c0 = time.process_time()
        result = project(G, target, steps=steps, restarts=restarts, seed=i, report_every=5)
        cpu.append(time.process_time() - c0)
        curves.append(dict(result.history))
        seconds.append(result.seconds)
    per_step = statistics.median(seconds) / steps
    cpu_step = statistics.median(cpu) / steps
    marks = [s for s in (5, 10, 20, 40, 80, 150, 300) if s <= steps]
    mean = {s: float(np.mean([c[s] for c in curves])) for s in marks}
    print("  error (grey levels, mean of targets) at step " + ", ".join(f"{s}: {mean[s]:.1f}" for s in marks))
    reach = []
    for c in curves:  # converged to the eye: within 2 grey levels (or 10%) of the final error
        final = c[steps]
        reach.append(next(s for s in sorted(c) if c[s] <= max(1.1 * final, final + 2.0)))
    print(f"  {per_step * 1000:.0f} ms per step wall, {cpu_step * 1000:.0f} ms CPU ({restarts} restarts in one "
          f"batch); within 2 grey levels of the {steps}-step error after {statistics.median(reach)} steps = "
          f"{statistics.median(reach) * per_step:.1f} s wall, {statistics.median(reach) * cpu_step:.1f} s CPU")


def bench_dcgan(n: int, steps: int, restarts: int) -> None:
    cfg = load_preset("dcgan")
    gen = torch.Generator().manual_seed(0)
    net = build_generator(cfg.model)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.ConvTranspose2d):  # fan-in of a stride-2 transposed conv: C_in·k²/4
                m.weight.normal_(0, 1.5 / (m.weight.shape[0] * m.weight[0, 0].numel() / 4) ** 0.5, generator=gen)
    G = Renderer(net).G
    z = torch.randn(n, cfg.model.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        targets = G(z).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    print(f"projection into the dcgan preset's G (64 px, nz {cfg.model.latent_dim}), {n} of its own samples:")
    convergence(G, targets, steps, restarts)


def bench_vaegan(n: int, steps: int) -> None:
    renderer = Renderer.from_checkpoint(ROOT / "resources" / "demo" / "vaegan32.safetensors")
    faces = render_many(20000, 20000 + n, renderer.image_size)[0]  # past the 20,000 it trained on
    alone, refined, secs = [], [], []  # secs: CPU seconds per face
    for face in faces:
        c0 = time.process_time()
        r = project(renderer.G, face, E=renderer.E, steps=steps, restarts=4)
        alone.append(r.start_error)
        refined.append(r.error)
        secs.append(time.process_time() - c0)
    print(f"VAE/GAN demo (32 px), {n} held-out synthetic faces: encoder μ alone {np.mean(alone):.1f}, "
          f"μ + {steps} projection steps {np.mean(refined):.1f} grey levels mean error "
          f"({statistics.median(secs):.1f} s CPU per face)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="fewer photos and targets")
    args = p.parse_args()
    import os

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; wall times include the wait for a CPU")
    torch.set_num_threads(args.threads)
    quick = args.quick
    bench_alignment(20 if quick else 100)
    bench_dcgan(2 if quick else 4, 150, 4)
    bench_vaegan(4 if quick else 16, 100)


if __name__ == "__main__":
    main()

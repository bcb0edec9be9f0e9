"""Benchmark: encode + decode of one 64 px photo on the CPU (target p95 <= 30 ms).

The model is the `vaegan` preset (Larsen et al. 2016 sizes: encoder 64-128-256 + 1024, decoder
256-128-32, z = 128) with random weights: timing does not depend on the weight values. The path
timed is what `latentlab encode` and the explorer run per photo: Renderer.encode_mu on a uint8
photo, then Renderer.render_uint8 on the latent (eval mode, channels_last, inference mode).

    .venv/bin/python -m devtools.bench.encode [--runs 200] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    import numpy as np
    import torch

    from latentlab.config import load_preset
    from latentlab.inference.render import Renderer
    from latentlab.models import build_models, encoder_flops, generator_flops

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, nargs="*", help="thread counts to try (default: 1 and all cores)")
    args = p.parse_args(argv)

    cfg = load_preset("vaegan")
    torch.manual_seed(0)
    nets = build_models(cfg.model)
    renderer = Renderer(nets["G"], nets["E"], device="cpu")
    photo = np.random.default_rng(0).integers(0, 256, (cfg.model.image_size,) * 2 + (3,), dtype=np.uint8)
    gflop = (encoder_flops(cfg.model) + generator_flops(cfg.model)) / 1e9
    cores = os.cpu_count() or 1
    print(f"vaegan preset, {cfg.model.image_size} px, z={cfg.model.latent_dim}, random weights; "
          f"{gflop:.2f} GFLOP per encode+decode; {cores} CPU cores; torch {torch.__version__}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for threads in args.threads or sorted({1, cores}):
        torch.set_num_threads(threads)
        times = []
        for i in range(args.warmup + args.runs):
            start = time.perf_counter()
            z = renderer.encode_mu(photo)
            image = renderer.render_uint8(z)
            if i >= args.warmup:
                times.append((time.perf_counter() - start) * 1000)
        assert image.shape == (1, cfg.model.image_size, cfg.model.image_size, 3)
        t = np.array(times)
        p50, p95 = np.percentile(t, 50), np.percentile(t, 95)
        print(f"threads {threads}: median {p50:.1f} ms, p95 {p95:.1f} ms, min {t.min():.1f} ms over {args.runs} runs "
              f"({gflop / (p50 / 1000):.0f} GFLOP/s at the median)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

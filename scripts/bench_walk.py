"""Benchmark: a latent walk rendered by a 64 px DCGAN generator and written as 256 px H.264 MP4.

The generator is randomly initialised (the dcgan preset's architecture, seeded): throughput does not
depend on the weights, though the encoder's share does depend a little on the picture content.
Prints frames/s end to end (keyframes to a closed file), and the share of the generator alone.

    .venv/bin/python scripts/bench_walk.py [--frames-per-segment 60] [--keyframes 11] [--preset fast]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import torch

from latentlab.config import load_preset
from latentlab.latent import grid_keyframes, walk_path
from latentlab.models import build_models
from latentlab.render import Renderer
from latentlab.video import write_walk


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyframes", type=int, default=11)
    ap.add_argument("--frames-per-segment", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--preset", default="fast", help="x264 preset (default fast, as the CLI uses)")
    ap.add_argument("--repeats", type=int, default=3, help="runs; the best is reported (shared machine)")
    ap.add_argument("--out", default="", help="keep the video here (default: a temporary folder)")
    args = ap.parse_args()

    cfg = load_preset("dcgan").model
    torch.manual_seed(0)
    generator = build_models(cfg)["G"]
    renderer = Renderer(generator)
    total = (args.keyframes - 1) * args.frames_per_segment + 1
    print(f"model: dcgan {cfg.image_size} px, latent_dim {cfg.latent_dim}, g_width {cfg.g_width} (random init)")
    print(f"walk: {args.keyframes} keyframes x {args.frames_per_segment} frames/segment = {total} frames, "
          f"written at {args.size} px, H.264 crf 18 preset {args.preset}; torch threads {torch.get_num_threads()}, "
          f"cpus {os.cpu_count()}")

    # The generator alone, on the same latents and batch size, for the breakdown.
    z = walk_path(grid_keyframes(1, 1, args.keyframes, cfg.latent_dim, 0)[0], args.frames_per_segment)
    renderer.generate(z[:32])
    start = time.perf_counter()
    for i in range(0, len(z), 32):
        renderer.generate(z[i:i + 32])
    g_fps = len(z) / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "walk.mp4"
        best, best_cpu = 0.0, float("inf")
        for run in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            result = write_walk(renderer, out, n_keyframes=args.keyframes, frames=args.frames_per_segment,
                                fps=30, size=args.size, preset=args.preset)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            fps = result.frames / elapsed
            best, best_cpu = max(best, fps), min(best_cpu, cpu / result.frames)
            print(f"run {run + 1}: {result.frames} frames in {elapsed:.2f} s = {fps:.0f} frames/s "
                  f"({cpu / result.frames * 1000:.2f} ms CPU per frame)")
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            decoded = sum(1 for _ in container.decode(video=0))
            size = (stream.codec_context.width, stream.codec_context.height)
        assert decoded == total, (decoded, total)
        print(f"check: decoded {decoded} frames at {size[0]}x{size[1]}, {out.stat().st_size / 1024:.0f} KiB")
    print(f"generator alone: {g_fps:.0f} frames/s (batch 32)")
    print(f"end to end: {best:.0f} frames/s (best of {args.repeats}; target >= 300)")
    print(f"CPU time: {best_cpu * 1000:.2f} ms per frame (this process, all threads)")
    load = os.getloadavg()[0]
    if load > 1.5:
        # OpenMP threads spin and get preempted when other processes share the two cores: both the
        # wall and the CPU figures above then say more about the neighbours than about this code.
        print(f"warning: load average {load:.1f} while measuring; rerun on an idle machine")


if __name__ == "__main__":
    main()

"""Benchmark: a latent walk rendered by a 64 px DCGAN generator and written as 256 px H.264 MP4.

Two paths on the same latents, interleaved run by run in one process so that a busy machine slows
both alike:
- pipelined: `write_walk` as the CLI and the Record panel run it (batches rendered and converted to
  I420 on a second thread while the calling thread encodes; x264 veryfast at crf 16);
- reference: the same batches rendered, converted and encoded one after another on one thread, with
  x264 fast at crf 18 (the writer before this pipeline).
Prints frames/s end to end (keyframes to a closed file) for each, their ratio, the generator alone,
and the load average. The generator is the dcgan preset's architecture, randomly initialised
(seeded) unless --checkpoint names a trained one (random weights give flat pictures that encode
faster than faces).

    .venv/bin/python -m devtools.bench.walk [--frames-per-segment 60] [--keyframes 11] [--checkpoint CKPT]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import torch

from latentlab.config import load_preset
from latentlab.inference.render import Renderer, frames_yuv420
from latentlab.latent import grid_keyframes, walk_path
from latentlab.media.video import open_writer, write_walk
from latentlab.models import build_models

BATCH = 32


def reference_walk(renderer: Renderer, out: Path, z, size: int) -> int:
    """Render, convert and encode one batch after another on this thread (fast, crf 18)."""
    with open_writer(out, 30, size, crf=18, preset="fast") as writer:
        for i in range(0, len(z), BATCH):
            writer.write_yuv420(frames_yuv420(renderer.generate(z[i:i + BATCH]), 1, 1, size, 0))
    return len(z)


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyframes", type=int, default=11)
    ap.add_argument("--frames-per-segment", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs of each path; medians reported")
    ap.add_argument("--checkpoint", default="", help="a trained latentlab checkpoint instead of random weights")
    args = ap.parse_args()

    if args.checkpoint:
        renderer = Renderer.from_checkpoint(args.checkpoint)
        what = f"{args.checkpoint} ({renderer.image_size} px)"
    else:
        cfg = load_preset("dcgan").model
        torch.manual_seed(0)
        renderer = Renderer(build_models(cfg)["G"])
        what = f"dcgan {cfg.image_size} px, latent_dim {cfg.latent_dim}, g_width {cfg.g_width} (random init)"
    size = args.size - args.size % renderer.image_size or renderer.image_size
    kf = grid_keyframes(1, 1, args.keyframes, renderer.latent_dim, 0)
    z = walk_path(kf[0], args.frames_per_segment)
    total = len(z)
    print(f"model: {what}")
    print(f"walk: {args.keyframes} keyframes x {args.frames_per_segment} frames/segment = {total} frames at {size} px; "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")

    renderer.generate(z[:BATCH])
    start = time.perf_counter()
    for i in range(0, total, BATCH):
        renderer.generate(z[i:i + BATCH])
    g_fps = total / (time.perf_counter() - start)

    rates: dict[str, list[float]] = {"pipelined": [], "reference": []}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeats):
            for name, series in rates.items():
                out = Path(tmp) / f"{name}-{run}.mp4"
                start = time.perf_counter()
                if name == "pipelined":
                    frames = write_walk(renderer, out, keyframes=kf[0], frames=args.frames_per_segment, fps=30,
                                        size=size, batch=BATCH).frames
                else:
                    frames = reference_walk(renderer, out, z, size)
                series.append(frames / (time.perf_counter() - start))
                assert decoded_frames(out) == total, name
                print(f"run {run + 1} {name:9s}: {series[-1]:.0f} frames/s, {out.stat().st_size / 1024:.0f} KiB")
        loads.append(os.getloadavg()[0])
    new, ref = statistics.median(rates["pipelined"]), statistics.median(rates["reference"])
    print(f"generator alone: {g_fps:.0f} frames/s (batch {BATCH})")
    print(f"end to end, pipelined: {new:.0f} frames/s (median of {args.repeats}; target >= 400)")
    print(f"end to end, reference: {ref:.0f} frames/s; pipelined / reference = {new / ref:.2f}x")
    print(f"load average (1 min) {loads[0]:.1f} before, {loads[1]:.1f} after")


if __name__ == "__main__":
    main()

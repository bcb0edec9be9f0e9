"""Benchmark the data path: synthetic render rate, cache reopen time and BatchFeeder images/s.

Usage: .venv/bin/python -m devtools.bench.cache [--count 4096] [--device cpu] [--cache-dir DIR]
Target (docs/design.md): the cache feeds the training loop at >= 20,000 images/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from latentlab.data import BatchFeeder, open_source


def bench_feeder(imageset, batch: int, device: str, seconds: float) -> tuple[float, float]:
    """(images/s over the whole run, images/s of the median batch): the machine may be shared."""
    feeder = BatchFeeder(imageset, batch, seed=0, device=device)
    for step in range(3):  # warm-up: first epoch permutation, page cache, allocator
        feeder.get(step)
    sync = torch.cuda.synchronize if feeder.device.type == "cuda" else (lambda: None)
    sync()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        x = feeder.get(len(times))
        sync()
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    assert x.shape[0] == batch
    return len(times) * batch / elapsed, batch / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=4096, help="synthetic images per size (default 4096)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--cache-dir", default="", help="cache folder (default: a temporary one)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="latentlab-bench-") as tmp:
        cache_dir = args.cache_dir or tmp
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
        for size in (32, 64):
            start = time.perf_counter()
            imageset = open_source("synthetic", size, synthetic_count=args.count, cache_dir=cache_dir,
                                   progress=lambda done, total: None)
            build = time.perf_counter() - start
            start = time.perf_counter()
            imageset = open_source("synthetic", size, synthetic_count=args.count, cache_dir=cache_dir)
            reopen = time.perf_counter() - start
            print(f"{size} px: cache of {len(imageset)} images built in {build:.1f} s "
                  f"({len(imageset) / build:,.0f} images/s incl. rendering), reopened in {reopen * 1000:.1f} ms")
            for batch in (64, 128):
                mean, median = bench_feeder(imageset, batch, args.device, args.seconds)
                print(f"  feed {size} px batch {batch}: {mean:,.0f} images/s "
                      f"(median batch: {median:,.0f} images/s)")


if __name__ == "__main__":
    main()

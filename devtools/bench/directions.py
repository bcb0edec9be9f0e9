"""Benchmark named directions (figures for docs/benchmarks.md).

Usage: OMP_NUM_THREADS=1 .venv/bin/python -m devtools.bench.directions [--threads 1] [--quick]

1. Labels needed: how many labelled faces of each kind (with / without) the Teach… classifier needs
   before it predicts faces it has not seen with 90% accuracy, for the synthetic faces' `glasses` and
   `smiling`. The latents are those of the bundled demo VAE/GAN (32 px, trained on the synthetic
   faces) for held-out faces, whose renderer labels are the truth; for each count n, n faces with
   and n without are drawn at random (10 draws), the direction is fitted, and the accuracy is
   measured on 1,000 other faces (balanced). Also reported: the fit's own cross-validated estimate
   (what the dialog shows) against that truth.
2. Projection for `attributes --with/--without`: seconds to project 100 photos (aligned synthetic
   faces) into the demo VAE/GAN (encoder start + 50 refining steps), into the same generator with
   no encoder (150 steps from random starts; the cost of a DCGAN of this size), and into the
   `dcgan` preset's 64 px generator (He-scale weights, 150 steps; 25 photos, scaled to 100), in
   batches of 16 photos × 4 restarts, and again from the cache.
3. Photos per optimiser batch (1, 4, 16), interleaved runs on the same 16 photos.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

import numpy as np
import torch

POOL = 4000  # labelled held-out faces drawn from for training labels
TEST = 1000  # balanced test faces per attribute


def labelled_latents(model, n: int):
    from latentlab.data.synthetic import FACTORS, binary_labels
    from latentlab.data.synthetic_render import render_many

    first = 10_000_000  # far from the indices the demo trained on (its 20,000 faces start at 0)
    images, factors = render_many(first, first + n, model.image_size)
    labels = [binary_labels(dict(zip(FACTORS, row))) for row in factors]
    z = model.renderer.encode_mu(images)
    return z, {k: np.array([row[k] for row in labels]) for k in ("glasses", "smiling")}


def labels_needed(z, y, counts, draws, rng) -> list[tuple[int, float, float]]:
    from latentlab.latent.classify import fit_direction

    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    rng.shuffle(pos)
    rng.shuffle(neg)
    half = min(TEST // 2, len(pos) // 2, len(neg) // 2)
    test = np.r_[pos[:half], neg[:half]]
    pos, neg = pos[half:], neg[half:]
    rows = []
    for n in counts:
        if n > min(len(pos), len(neg)):
            break
        true_acc, cv_acc = [], []
        for _ in range(draws):
            idx = np.r_[rng.choice(pos, n, replace=False), rng.choice(neg, n, replace=False)]
            fit = fit_direction(z[idx], y[idx])
            true_acc.append(float((fit.predict(z[test]) == y[test]).mean()))
            cv_acc.append(fit.accuracy)
        rows.append((n, float(np.mean(true_acc)), float(np.nanmean(cv_acc))))
    return rows


def bench_labels(quick: bool) -> None:
    from latentlab.inference.api import load
    from latentlab.resources import demo_checkpoint

    model = load(demo_checkpoint())
    n = 2000 if quick else POOL + TEST
    started = time.perf_counter()
    z, labels = labelled_latents(model, n)
    print(f"encoded {n} held-out synthetic faces in {time.perf_counter() - started:.1f} s "
          f"(demo VAE/GAN, nz {model.latent_dim})")
    counts = (2, 5, 10, 20, 40, 80) if quick else (2, 5, 10, 20, 40, 80, 160, 320)
    rng = np.random.default_rng(2026)
    for name, y in labels.items():
        rows = labels_needed(z, y, counts, 4 if quick else 10, rng)
        print(f"\n{name} ({y.mean():.0%} of faces): labels of each kind -> accuracy on unseen faces, half with "
              f"(cross-validated estimate the dialog shows)")
        for count, acc, cv in rows:
            print(f"  {count:4d} + {count:<4d} {acc:6.1%}   ({cv:.1%})")
        enough = next((c for c, acc, _ in rows if acc >= 0.9), None)
        print(f"  90% reached with {enough} + {enough} labels" if enough else "  90% not reached")


def bench_projection(quick: bool) -> None:
    from latentlab.config import load_preset
    from latentlab.data.synthetic_render import render_many
    from latentlab.inference.api import Model, load
    from latentlab.inference.render import Renderer
    from latentlab.models import build_generator
    from latentlab.resources import demo_checkpoint

    n = 20 if quick else 100
    demo = load(demo_checkpoint())
    no_encoder = Model(Renderer(demo.renderer.G))
    cfg = load_preset("dcgan").model
    torch.manual_seed(0)
    g = build_generator(cfg)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Conv2d)):
                torch.nn.init.kaiming_normal_(m.weight)
    dcgan = Model(Renderer(g))
    print(f"\nprojecting {n} photos (aligned synthetic faces), {torch.get_num_threads()} thread(s)")
    for label, model, steps, count in (("demo VAE/GAN 32 px, encoder + 50 steps", demo, 50, n),
                                       ("demo generator 32 px without encoder, 150 steps", no_encoder, 150, n),
                                       ("dcgan preset 64 px (nz 100), 150 steps", dcgan, 150, max(1, n // 4))):
        photos, _ = render_many(20_000_000, 20_000_000 + count, model.image_size)
        started = time.perf_counter()
        found = model.project_aligned(photos, steps=steps)
        batched = (time.perf_counter() - started) * n / count
        if count != n:
            label += f" (measured on {count} photos, times scaled to {n})"
        started = time.perf_counter()
        model.project_aligned(photos, steps=steps)
        cached = time.perf_counter() - started
        print(f"  {label}: {batched:6.1f} s ({batched / n * 1000:.0f} ms a photo, mean error "
              f"{found.errors.mean():.1f} grey levels); from the cache {cached * n / count:.2f} s", flush=True)


def bench_batch_sizes(quick: bool) -> None:
    """Photos per optimiser batch, interleaved so a changing load hits every size alike."""
    from latentlab.data.synthetic_render import render_many
    from latentlab.inference.api import Model, load
    from latentlab.inference.render import Renderer
    from latentlab.resources import demo_checkpoint

    model = Model(Renderer(load(demo_checkpoint()).renderer.G))
    photos, _ = render_many(30_000_000, 30_000_000 + 16, model.image_size)
    sizes, steps = (1, 4, 16), 20 if quick else 40
    times = {b: [] for b in sizes}
    for _ in range(2 if quick else 3):
        for b in sizes:
            started = time.perf_counter()
            model.project_aligned(photos, steps=steps, cache=False, batch=b)
            times[b].append(time.perf_counter() - started)
    print(f"\n16 photos, {steps} steps, 4 restarts, the demo's generator without encoder; photos per batch -> "
          "seconds (each run, interleaved)")
    for b in sizes:
        print(f"  {b:2d}: {' '.join(f'{t:.1f}' for t in times[b])}  (min {min(times[b]):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer faces and draws (a smoke run)")
    parser.add_argument("--only", choices=["labels", "projection", "batch"], help="run one part")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = tempfile.mkdtemp(prefix="bench-directions-cache-")
    import os

    os.environ["LATENTLAB_CACHE"] = cache  # a cold projection cache, removed afterwards
    try:
        for part, run in (("labels", bench_labels), ("projection", bench_projection), ("batch", bench_batch_sizes)):
            if args.only in (None, part):
                run(args.quick)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

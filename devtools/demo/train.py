"""Train the embedded demo model: a small VAE/GAN on the synthetic faces (32 or 64 px), on the CPU or a GPU.

After training, devtools/demo/harden.py teaches the encoder (decoder frozen) to answer for a photo
what it answers for the clean face behind it, so that a real photo maps to a clean face of the demo.

Writes resources/demo/vaegan<size>.safetensors (a slim inference checkpoint: the decoder's EMA copy
and the encoder, config and metadata; no discriminator, optimizer or RNG state) and
vaegan<size>.attributes.safetensors (attribute vectors from the synthetic faces' labels), then runs
the reconstruction benchmark (devtools/bench/recon.py) on 256 faces never seen in training and saves
a sample grid and a reconstruction grid for a look.

    .venv/bin/python -m devtools.demo.train                            # the shipped demo (preset demo-vaegan32)
    .venv/bin/python -m devtools.demo.train --minutes 40               # stop early when the machine is slow
    .venv/bin/python -m devtools.demo.train --size 64 --device cuda    # the 64 px recipe (preset demo-vaegan64) on a GPU
    .venv/bin/python -m devtools.demo.train --size 32 --paper          # the paper's decoder and loss layout

The run directory (default /tmp/latentlab-demo-run<size>) is an ordinary run: `--resume` continues
it (e.g. with more --threads once the machine is free) and `latentlab gui RUN` can watch it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The recipes are the presets demo-vaegan32 and demo-vaegan64 (resources/presets/: their comments
# say what each setting gained); this script trains one and packs the result.
SIZES = (32, 64)
# The paper's layout (ConvTranspose 5x5/2, feature-space reconstruction only), for comparison.
PAPER_LAYOUT = ["model.vae_upsample=convT5", "train.vae_pixel_weight=0", "train.vae_feature_layer=4"]
HELD_OUT_FACES = 256
MAX_BYTES = 25_000_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, choices=SIZES, default=32, help="image size (default 32: the shipped demo)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    p.add_argument("--paper", action="store_true", help="the paper's decoder and loss layout instead of the recipe's")
    p.add_argument("--out", help="default resources/demo/vaegan<size>.safetensors")
    p.add_argument("--run-dir", help="default /tmp/latentlab-demo-run<size>")
    p.add_argument("--steps", type=int, help="override train.steps")
    p.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this much training time")
    p.add_argument("--threads", type=int, help="torch threads (default: 1 when the machine is busy, else all)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any other override")
    p.add_argument("--held-out", type=int, default=HELD_OUT_FACES, help="held-out faces (and random samples) the "
                   f"closing reconstruction benchmark uses (default {HELD_OUT_FACES})")
    p.add_argument("--harden-steps", type=int, default=3000, help="steps of the encoder's hardening against real "
                   "photos (devtools/demo/harden.py) after training; 0 skips it (default 3000)")
    p.add_argument("--grids", default="/tmp/latentlab-demo", help="prefix of the sample/reconstruction PNGs")
    return p.parse_args(argv)


def demo_config(args):
    from latentlab.config import apply_override, load_preset

    cfg = load_preset(f"demo-vaegan{args.size}")
    sets = (PAPER_LAYOUT if args.paper else []) + [f"train.device={args.device}"]
    for assignment in sets + ([f"train.steps={args.steps}"] if args.steps else []) + args.set:
        apply_override(cfg, assignment)
    return cfg.validate()


def pick_threads(requested: int | None) -> int:
    cores = os.cpu_count() or 1
    if requested:
        return requested
    # On a shared machine torch's thread pool waits at every barrier for a descheduled peer thread;
    # one thread is then faster than two (measured 0.34 vs 0.14 steps/s under a load of 9 on 2 cores).
    return 1 if os.getloadavg()[0] > cores else cores


def train(cfg, args) -> tuple[object, float, int]:
    from latentlab.run.control import Control, Event, StepStats
    from latentlab.train.engine import Trainer

    control = Control()
    trainer = Trainer(cfg, args.run_dir, resume=args.resume, control=control)
    started = time.perf_counter()
    last_print = 0.0
    first_step_time = None
    for item in trainer.run():
        now = time.perf_counter()
        if isinstance(item, StepStats):
            if first_step_time is None:
                first_step_time = now
            if now - last_print > 30 or item.step == trainer.total_steps:
                last_print = now
                rate = item.step / max(item.time, 1e-9)
                print(f"step {item.step}/{trainer.total_steps}  real {item.real:.3f} fake {item.fake:.3f} "
                      f"gen {item.gen:.3f} kl {item.kl:.1f} llike {item.llike:.1f}  "
                      f"D {'on ' if item.d_updated else 'off'} G {'on ' if item.g_updated else 'off'}  "
                      f"{rate:.2f} steps/s  {item.time / 60:.1f} min", flush=True)
            if args.minutes and item.time > args.minutes * 60 and not control.stopped:
                print(f"time budget of {args.minutes} min reached at step {item.step}; stopping", flush=True)
                control.stop()
        elif isinstance(item, Event) and item.kind in ("alert", "error", "info"):
            print(f"[{item.kind}] {item.message}", flush=True)
            if item.kind == "alert" and item.data.get("kind") == "nan":
                raise SystemExit("training hit a non-finite loss; not writing the demo model")
    return trainer, time.perf_counter() - started, trainer.step


def write_slim(run_dir: Path, out: Path, extra_meta: dict) -> Path:
    """The decoder (its EMA copy when there is one: what sampling and reconstruction use) and the
    encoder of the run's latest checkpoint, with config and metadata: what load_model needs, without
    D or the optimizer/RNG state that only resuming needs."""
    from latentlab.run.checkpoint import read_checkpoint, save_checkpoint, split_prefix
    from latentlab.run.layout import RunLayout

    tensors, meta = read_checkpoint(RunLayout(run_dir).latest)
    decoder = split_prefix(tensors, "G_ema") or split_prefix(tensors, "G")
    nets = {f"G.{k}": v for k, v in decoder.items()}
    nets.update({f"E.{k}": v for k, v in split_prefix(tensors, "E").items()})
    keep = {k: meta[k] for k in ("config", "arch", "step", "epoch", "time", "data_fingerprint") if k in meta}
    keep.update(extra_meta)
    keep["slim"] = True
    return save_checkpoint(out, nets, keep)


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    threads = pick_threads(args.threads)
    torch.set_num_threads(threads)
    cfg = demo_config(args)
    out = Path(args.out or ROOT / "resources" / "demo" / f"vaegan{args.size}.safetensors")
    args.run_dir = args.run_dir or f"/tmp/latentlab-demo-run{args.size}"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    m, t = cfg.model, cfg.train
    print(f"training {cfg.name}: {m.image_size} px VAE/GAN, widths g{m.g_width} d{m.d_width} e{m.e_width}, "
          f"z={m.latent_dim}, upsampling {m.vae_upsample}, pixel weight {t.vae_pixel_weight:g}, feature layer "
          f"{t.vae_feature_layer}, gamma={t.vae_gamma:g}, {cfg.data.synthetic_count} synthetic faces, {t.steps} "
          f"steps of {t.batch} on {t.device}, {threads} thread(s), into {args.run_dir}", flush=True)
    _, train_seconds, steps = train(cfg, args)
    print(f"trained {steps} steps in {train_seconds / 60:.1f} min ({steps / train_seconds:.2f} steps/s)", flush=True)

    from devtools.bench.recon import format_figures, held_out_faces, measure, save_grids
    from latentlab.inference.encode import attributes_from_labels, format_rows, load_encoder_model, store_attributes

    write_slim(Path(args.run_dir), out, {"trained_by": "devtools/demo/train.py", "train_seconds": round(train_seconds),
                                         "train_threads": threads, "machine_cpus": os.cpu_count()})
    if args.harden_steps:
        from devtools.demo.harden import harden_checkpoint

        harden_checkpoint(out, out, steps=args.harden_steps, faces=cfg.data.synthetic_count,
                          eval_start=cfg.data.synthetic_count)
    model = load_encoder_model(out)  # what every user of the file will get
    faces = held_out_faces(cfg, "synthetic", args.held_out)  # indices never trained on
    figures, rec, fake = measure(model.G, model.E, faces, samples=args.held_out)
    save_grids(faces, rec, fake, f"{args.grids}-recon.png", f"{args.grids}-samples.png")
    attrs = attributes_from_labels(model, "synthetic", max_images=4000)
    apath = store_attributes(out, attrs, replace=True)
    size = sum(p.stat().st_size for p in (out, apath))
    print("\n".join(format_rows(attrs)))
    for note in attrs.notes:
        print(f"note: {note}")
    print(format_figures(figures))
    print(f"wrote {out} and {apath.name}: {size / 1e6:.1f} MB")
    print(f"grids: {args.grids}-samples.png, {args.grids}-recon.png (input rows above reconstruction rows)")
    print(f"elapsed {(time.perf_counter() - t0) / 60:.1f} min in all ({train_seconds / 60:.1f} min training, "
          f"{steps} steps)")
    return 0 if figures["identity"] >= 0.9 and size <= MAX_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Train a preset at its default sizes for a fixed time and project its default run's length
(step 4 of scripts/gpu_check.sh; usable alone):

    .venv/bin/python -m devtools.gpu.preset torchgan2015 vaegan --device cuda --seconds 60 --json out.json

The run follows the preset's own schedule (train.steps = its default run's steps, so warm-up and
decay are where they would be), writes samples and health checks into a throwaway run directory,
and stops after --seconds of training. The projection is the default run's steps times the mean
step time after the first few (kernel selection, allocator) steps, sample grids and checks included.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

WARMUP_STEPS = 3
MIN_STEPS = WARMUP_STEPS + 3  # the projection needs a few steps after the warm-up


def default_steps(cfg) -> int:
    """train.steps, or epochs over the default data source's training images."""
    t = cfg.train
    if t.steps:
        return t.steps
    train_images = cfg.data.synthetic_count - cfg.data.holdout
    return max(1, t.epochs) * max(1, train_images // t.batch)


def one_preset(preset: str, args) -> dict | None:
    from latentlab.config import apply_override, load_preset
    from latentlab.run.control import Control, Event, StepStats
    from latentlab.train.engine import Trainer

    cfg = load_preset(preset)
    if args.batch:
        cfg.train.batch = args.batch
    for assignment in args.set:
        apply_override(cfg, assignment)
    total = default_steps(cfg)  # of the default data set, before it is swapped for the smaller one
    cfg.data.source, cfg.data.synthetic_count = "synthetic", args.synthetic_count
    cfg.train.device, cfg.train.steps, cfg.train.epochs = args.device, total, 0
    cfg.train.quality_every = 0  # the quality figures are a separate measurement (latentlab metrics)
    control = Control()
    stamps, alerts, last = [], [], None
    with tempfile.TemporaryDirectory(prefix=f"latentlab-{preset}-minute-") as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run", control=control)
        for item in trainer.run():
            if isinstance(item, StepStats):
                stamps.append(time.perf_counter())
                last = item
                if item.time >= args.seconds and item.step >= MIN_STEPS and not control.stopped:
                    control.stop()
            elif isinstance(item, Event) and item.kind in ("alert", "error"):
                alerts.append(f"step {item.step}: {item.message}")
                print(f"[{item.kind}] step {item.step}: {item.message}", flush=True)
    if last is None or len(stamps) < MIN_STEPS:
        print(f"{preset}: stopped after {len(stamps)} steps", file=sys.stderr)
        return None
    gaps = [b - a for a, b in zip(stamps[WARMUP_STEPS:], stamps[WARMUP_STEPS + 1:])]
    mean, median = statistics.fmean(gaps), statistics.median(gaps)
    result = {"preset": preset, "device": str(trainer.device), "image_size": cfg.model.image_size,
              "batch": cfg.train.batch, "amp": "bf16" if trainer.autocast else "fp32", "steps": last.step,
              "seconds": last.time, "step_s": median, "mean_step_s": mean, "images_per_s": cfg.train.batch / median,
              "default_steps": total, "projected_s": total * mean, "alerts": alerts,
              "last": {"real": last.real, "fake": last.fake, "gen": last.gen}}
    print(f"{preset} on {result['device']}: {last.step} steps in {last.time:.0f} s, median step "
          f"{1000 * median:.1f} ms, mean {1000 * mean:.1f} ms; default run of {total:,} steps: "
          f"{total * mean / 3600:.2f} h; alerts: {len(alerts)}", flush=True)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("presets", nargs="+", metavar="PRESET")
    p.add_argument("--device", default="auto")
    p.add_argument("--seconds", type=float, default=60.0, help=f"training time of each (at least {MIN_STEPS} steps)")
    p.add_argument("--synthetic-count", type=int, default=12000,
                   help="faces to train on (default 12000: the 64 px demo's set, so their cache is shared)")
    p.add_argument("--batch", type=int, help="default: the preset's")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", help="also write the figures here, one object per preset")
    args = p.parse_args(argv)
    results = {preset: one_preset(preset, args) for preset in args.presets}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

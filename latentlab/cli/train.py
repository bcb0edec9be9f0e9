"""`latentlab train`: the run's config from --preset/--config/--set, and the headless training loop
with its progress line; Ctrl-C and SIGTERM stop after a step, with a checkpoint."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from latentlab.cli.common import add_command, positive_int
from latentlab.config import UserError
from latentlab.progress import ProgressLine
from latentlab.run.layout import RunLayout


def resolve_train_config(args):
    from latentlab.config import Config, apply_override, load_preset, load_toml

    if args.preset and args.config:
        raise UserError("give --preset or --config, not both")
    if args.config:
        cfg = load_toml(args.config)
    elif args.preset:
        cfg = load_preset(args.preset)
    elif args.resume and args.out and RunLayout(args.out).config.is_file():
        cfg = load_toml(RunLayout(args.out).config)
    elif args.resume:
        raise UserError(f"--resume: {args.out or '(no --out)'}: not a run directory with a config.toml")
    else:
        cfg = Config()
        cfg.name = "custom"
    if args.data is not None:
        if not args.data.strip():
            raise UserError("--data is empty; name a source: synthetic | synthetic-photo | FOLDER | FILE.zip | "
                            "celeba:PATH | lfw:PATH")
        cfg.data.source = args.data
    if args.steps:
        cfg.train.steps = args.steps
    if args.epochs:
        cfg.train.epochs = args.epochs
        if not args.steps:
            cfg.train.steps = 0
    for key in ("batch", "device", "seed"):
        if getattr(args, key) is not None:
            setattr(cfg.train, key, getattr(args, key))
    for assignment in args.set:
        apply_override(cfg, assignment)
    return cfg.validate()


def cmd_train(args) -> int:
    cfg = resolve_train_config(args)  # refused before torch is even imported

    from latentlab.run.control import Control, Event, StepStats
    from latentlab.train.distributed import DistContext
    from latentlab.train.engine import Trainer

    out = Path(args.out) if args.out else Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    dist = DistContext.from_env(cfg.train.device)
    show = dist.is_main and not args.quiet
    control = Control()
    bar = ProgressLine(enabled=show)
    # Ctrl-C and SIGTERM (what `timeout`, SLURM and Kubernetes send, and torchrun forwards to its
    # ranks) stop the same way: after the step under way, with a checkpoint, every rank together.
    received: list[int] = []

    def stop(signum, _frame) -> None:
        received.append(signum)
        control.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        trainer = Trainer(cfg, out, resume=args.resume, force_new=args.force_new, control=control, dist=dist,
                          data_progress=bar.data_progress if show else None)
        announced = False
        for item in trainer.run():
            if isinstance(item, StepStats):
                bar.step(item, trainer.total_steps)
            elif isinstance(item, Event):
                if not announced and show:
                    announced = True
                    bar.message(f"latentlab: {'resuming' if args.resume else 'training'} {cfg.name} "
                                f"({cfg.model.arch}, {cfg.model.image_size} px) on {trainer.device.type} into {out}")
                if item.kind in ("alert", "rollback", "error", "info", "setting") and show:
                    bar.message(f"[{item.kind}] {item.message}")
                if item.kind == "alert" and item.data.get("kind") == "nan":
                    status = 1
                    if not show:
                        ProgressLine().message(f"latentlab: {item.message}")
        bar.close()
        if show:
            state = "stopped" if control.stopped else "done"
            bar.message(f"latentlab: {state} at step {trainer.step}; run directory {out}")
        if control.stopped and status == 0:
            # A stop agreed with the other ranks without a signal here: a peer was sent SIGTERM.
            status = 128 + (received[0] if received else signal.SIGTERM)
    except RuntimeError as exc:
        if dist.world == 1:
            raise
        # A peer died or the network failed: say so and exit instead of waiting forever.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"latentlab: error: rank {dist.rank} of {dist.world} lost contact with the other ranks ({reason}); "
              "stopping. Resume with --resume once all ranks are up.", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)  # the process group cannot be torn down cleanly without its peers
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    dist.close()
    return status


def add_train_parser(sub) -> None:
    t = add_command(sub, "train", "train a model headless (also under torchrun)",
                    "latentlab train --preset tiny --out runs/tiny --steps 2000",
                    "torchrun --nproc-per-node 4 -m latentlab train --preset dcgan --data celeba:~/celeba --out runs/d")
    t.add_argument("--preset", help="a preset name (see `latentlab presets`)")
    t.add_argument("--config", help="a config.toml (e.g. RUN/config.toml) to rerun")
    t.add_argument("--data", help="synthetic | synthetic-photo | FOLDER | FILE.zip | celeba:PATH | lfw:PATH "
                   "(default: the preset's; synthetic-photo: the same faces as photographs)")
    t.add_argument("--out", help="the run directory (default: runs/PRESET-TIMESTAMP)")
    t.add_argument("--steps", type=positive_int, help="total steps of the run (default: the preset's)")
    t.add_argument("--epochs", type=positive_int, help="total epochs (when --steps is not given)")
    t.add_argument("--batch", type=positive_int, help="images per step, over all ranks (default: the preset's)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to train; auto: CUDA, then MPS, then the CPU (default: the preset's)")
    t.add_argument("--seed", type=int, help="seed of the weights, the data order and the noise (default: the preset's)")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its latest checkpoint (--set still changes a setting)")
    again.add_argument("--force-new", action="store_true",
                       help="start a fresh run in --out, moving an existing run there to OUT.old-TIME first")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config key")
    t.add_argument("--quiet", action="store_true", help="no progress line")

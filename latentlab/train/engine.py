"""The training engine: one loop for the GUI, the CLI and torchrun.

`Trainer.run()` yields a `StepStats` per step and an `Event` for everything else (sample grids,
checkpoints, alerts). It knows nothing of its driver: commands arrive through a `Control`. The step
itself is steps.py's (explicit inputs: a `StepParts`); what the loop writes is outputs.py's
(`RunLog`, `Grids`, `Checkpoints`); the health checks are health.py's; what a checkpoint holds is
trainstate.py's `TrainState`. The loop below calls them in order, once per step.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from latentlab.config import Config, UserError
from latentlab.run import checkpoint as ckpt
from latentlab.run.claim import RunClaim, claim_run
from latentlab.run.control import WEIGHTS, Control, Event, StepStats
from latentlab.run.layout import RunLayout
from latentlab.run.rundir import RunWriter
from latentlab.train import best
from latentlab.train.distributed import DistContext
from latentlab.train.outputs import Checkpoints, Grids, RunLog
from latentlab.train.steps import NonFiniteLoss, gan_step, vaegan_step
from latentlab.train.trainstate import TrainState, apply_changed_rules, build_state, load_state, rule_fields

SKIP_STORM = 200  # consecutive skipped updates of one net before the window is told


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is available on this machine (use auto or cpu)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("--device mps: Apple MPS is not available on this machine (use auto or cpu)")
    return torch.device(name)


def _of_state(path: str, before_setup=lambda: None, settable: bool = False) -> property:
    """A Trainer attribute that is the field `path` (dotted) of its TrainState; before_setup() until then."""
    owner, _, name = path.rpartition(".")

    def holder(trainer):
        return trainer.state if not owner else getattr(trainer.state, owner)

    def get(trainer):
        return before_setup() if trainer.state is None else getattr(holder(trainer), name)

    def put(trainer, value):
        setattr(holder(trainer), name, value)

    return property(get, put if settable else None, doc=f"TrainState.{path}")


class Trainer:
    def __init__(self, cfg: Config, out_dir: str | Path | None, *, resume: bool = False, force_new: bool = False,
                 control: Control | None = None, data_progress=None, dist: DistContext | None = None):
        self.cfg = cfg.copy().validate()
        self.layout = RunLayout(out_dir) if out_dir is not None else None
        self.resume = resume
        self.force_new = force_new
        self.control = control or Control()
        self.data_progress = data_progress
        self.dist = dist or DistContext.single()
        self.device = self.dist.device or resolve_device(self.cfg.train.device)
        self.total_steps = self.cfg.train.steps
        self.claim: RunClaim | None = None  # the right to write the run (rank 0), taken first thing in setup()
        # Set up by setup(): the state a checkpoint holds, the data, and the loop's collaborators.
        self.state: TrainState | None = None
        self.data = self.feeder = None
        self.log = RunLog()  # metrics and events, once the run directory is claimed
        self.saver = Checkpoints(self.layout, writes=self.dist.is_main)
        self.grids: Grids | None = None
        self.quality = None  # a QualityTracker on rank 0 (train.quality_every)
        self.history: deque[StepStats] = deque(maxlen=2000)  # what the health checks look back on
        self._nan_seen = False

    # The state, by the names its callers use: nets, optimizers and rules are the step's parts, so a
    # step may be handed the Trainer itself (as tests do, after swapping in an optimizer or a rule).
    parts = _of_state("parts")
    nets = _of_state("parts.nets", dict)
    optims = _of_state("parts.optims", dict, settable=True)
    balance = _of_state("parts.balance", settable=True)
    l2 = _of_state("parts.l2")
    autocast = _of_state("parts.autocast")
    sched = _of_state("sched")
    G_ema = _of_state("G_ema")
    health = _of_state("health")
    step = _of_state("progress.step", int, settable=True)
    best = _of_state("progress.best")

    def noise(self, n_local: int) -> torch.Tensor:
        return self.parts.noise(n_local)

    def reduce_errors(self, *losses: torch.Tensor) -> list[float]:
        return self.parts.reduce_errors(*losses)

    def sync_grads(self, name: str) -> None:
        self.parts.sync_grads(name)

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self) -> list[Event]:
        """Claim the run directory, load data, build nets and optimizers, restore a checkpoint.
        Separate from run() so a caller can show set-up progress; run() calls it when needed.
        A failure leaves the run directory as it was (a folder the claim created is removed)."""
        if self.layout is not None and self.dist.is_main:
            self.claim = claim_run(self.layout.root, resume=self.resume, force_new=self.force_new)
        try:
            return self._setup()
        except BaseException:
            if self.claim is not None and self.log.writer is None:
                self.claim.abandon()
            elif self.claim is not None:
                self.claim.release()
            raise

    def _setup(self) -> list[Event]:
        from latentlab.data import BatchFeeder, open_source, skip_summary

        cfg, t = self.cfg, self.cfg.train
        events = []
        resume_path = None
        if self.resume:
            if self.layout is None or not self.layout.root.is_dir():
                raise UserError(f"--resume: {self.layout and self.layout.root}: no run directory to resume")
            resume_path = self.layout.latest
            if not resume_path.is_file():  # killed before its first checkpoint: start over, in place
                events.append(Event("info", 0, "no checkpoint yet: the run starts again from step 0"))
                resume_path = None
        self.data = self.dist.build_once(partial(
            open_source, cfg.data.source, cfg.model.image_size, crop=cfg.data.crop, arch=cfg.model.arch,
            synthetic_count=cfg.data.synthetic_count, holdout=cfg.data.holdout,
            cache_dir=cfg.data.cache_dir or None, progress=self.data_progress, align=cfg.data.align))
        n_train = len(self.data) - self.data.holdout
        self.dist.local_batch(t.batch)
        if n_train < t.batch:
            raise UserError(f"{cfg.data.source}: {n_train} training images ({len(self.data)} in all, "
                            f"{self.data.holdout} held out for validation), fewer than one batch of {t.batch}; "
                            "lower --batch or data.holdout, or add images")
        self.feeder = BatchFeeder(self.data, t.batch, t.seed, self.device, channels_last=t.channels_last,
                                  on_device=cfg.data.on_device, hflip=cfg.data.hflip, jitter=cfg.data.jitter)
        if self.total_steps == 0:
            self.total_steps = max(1, t.epochs) * self.feeder.steps_per_epoch
        events.insert(0, Event("info", 0, f"data: {len(self.data)} images of {cfg.data.source}"
                               f"{skip_summary(self.data)}", data={"images": len(self.data),
                                                                    "skipped": self.data.skipped}))

        self.state = build_state(cfg, self.dist, self.device)
        if t.health:
            from latentlab.train.health import HealthMonitor

            self.state.health = HealthMonitor(self.cfg, self.data)
        if t.quality_every and self.dist.is_main:
            from latentlab.metrics.tracking import QualityTracker

            self.quality = QualityTracker(self.cfg, self.data)
        if resume_path is not None:
            events += self._restore(resume_path)
            for event in events:  # this session's notes belong after the log kept so far
                event.step = max(event.step, self.step)
        if self.claim is not None:  # only once the inputs and the checkpoint proved good
            self.claim.begin()
            writer = RunWriter(self.layout.root)
            self.log = RunLog(writer)
            if self.claim.moved_to is not None:
                events.append(Event("info", self.step, f"the earlier run in {self.layout.root} was moved to "
                                    f"{self.claim.moved_to}", path=str(self.claim.moved_to)))
            if self.claim.swept:
                events.append(Event("info", self.step, f"removed {self.claim.swept} temporary file(s) left by "
                                    "interrupted writes"))
            if self.resume:  # never a step twice: drop what was logged after the restored checkpoint
                writer.truncate_after(self.step)
            writer.write_config(cfg.to_toml())
            from latentlab.run.tbevents import open_sink

            self.log.tb = open_sink(self.layout.root, purge_step=self.step + 1 if self.resume else None)
        holdout = partial(self.feeder.holdout_batch, min(16, self.data.holdout) or 8)
        self.grids = Grids(self.state, self.layout if self.log.writer is not None else None, holdout)
        return events

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> Iterator[StepStats | Event]:
        if self.state is None:
            for event in self.setup():
                yield self.log.event(event)
        t, s, log = self.cfg.train, self.state, self.log
        run = s.progress
        vaegan = self.cfg.model.arch == "vaegan"
        clock = time.perf_counter() - run.time
        rate = None
        skipped = {"D": 0, "G": 0}  # consecutive skipped updates
        self.nets_train(True)
        finished_cleanly = False
        try:
            while run.step < self.total_steps:
                # Commands first: settings and "save now" apply even while paused.
                action = self.control.next_action()
                if self.dist.world > 1 and self.dist.any_rank(action == "stop"):
                    action = "stop"
                    self.control.stop()
                for key, value in self.control.take_settings().items():
                    yield log.event(self._apply_setting(key, value))
                if self.control.take_save():
                    yield from self._save()
                if self.control.take_weights_request():
                    yield self._weights()
                if action == "stop":
                    break
                if action == "idle":
                    clock += 0.1  # paused time does not count
                    continue

                # One step: learning rates of this step, a batch, the update.
                epoch = run.step // self.feeder.steps_per_epoch
                for name, opt in s.parts.optims.items():
                    lr = s.sched["D" if name == "D" else "G"].lr(run.step, epoch)
                    for group in opt.param_groups:
                        group["lr"] = lr
                started = time.perf_counter()
                x = self.dist.shard(self.feeder.get(run.step))
                # BatchNorm running statistics change in the forward pass, before any loss is seen;
                # a copy (a few KB) lets a non-finite step leave no trace at all.
                buffers = {name: [b.clone() for b in net.buffers()] for name, net in s.parts.nets.items()}
                try:
                    result = vaegan_step(s.parts, x) if vaegan else gan_step(s.parts, x, self.instance_noise())
                except NonFiniteLoss as exc:
                    with torch.no_grad():
                        for name, saved in buffers.items():
                            for b, old in zip(s.parts.nets[name].buffers(), saved):
                                b.copy_(old)
                    self._nan_seen = True
                    self.control.pause()
                    yield log.event(Event("alert", run.step + 1, f"{exc}. Training stopped before the update; "
                                          "the last checkpoint is intact. Try lower learning rates.",
                                          data={"kind": "nan", **exc.values}))
                    return
                run.step += 1
                if s.G_ema is not None:
                    self._update_ema()
                elapsed = time.perf_counter() - started
                inst = x.shape[0] * self.dist.world / max(elapsed, 1e-9)
                rate = inst if rate is None else 0.9 * rate + 0.1 * inst
                stats = replace(result, step=run.step, epoch=epoch, time=time.perf_counter() - clock,
                                l2_d=s.parts.l2.coef, lr_d=s.parts.optims["D"].param_groups[0]["lr"],
                                lr_g=s.parts.optims["G"].param_groups[0]["lr"], img_per_s=rate)
                run.time = stats.time
                if run.step % t.log_every == 0:
                    log.metric(stats.to_row())
                self.history.append(stats)
                yield stats

                # What the loop does besides: alerts, grids, health, quality and the best, checkpoints.
                for net, updated in (("D", result.d_updated), ("G", result.g_updated)):
                    skipped[net] = 0 if updated else skipped[net] + 1
                    if skipped[net] == SKIP_STORM:
                        yield log.event(Event("alert", run.step, f"{net}'s update skipped for {SKIP_STORM} "
                                              "steps in a row: the balance is stuck; consider changing the "
                                              "margin or learning rates", data={"kind": "skip_storm"}))
                if (run.step % t.sample_every == 0 or run.step == self.total_steps) and self.dist.is_main:
                    yield from self.grids.write(log, recon="E" in s.parts.nets and run.step % t.checkpoint_every == 0)
                if s.health is not None and run.step % (t.health_every or t.sample_every) == 0:
                    yield from self._health_check()
                if self.quality is not None and run.step % t.quality_every == 0:
                    event = log.event(self.quality.measure(run.step, self.grids.generator()))
                    yield event
                    if event.kind == "quality" and s.health is not None:
                        yield from self._raise(s.health.check_quality(run.step, event.data))
                    if event.kind == "quality" and best.is_better(event.data, run.best):
                        yield from self._pin_best(event.data[best.FIGURE])
                if run.step % t.checkpoint_every == 0 and self.saver.last_step != run.step:
                    yield from self._save()
            finished_cleanly = True
        except GeneratorExit:
            # The consumer closed the iterator (a stop): save, but a closing generator may not yield.
            self._final_save()
            raise
        finally:
            if finished_cleanly:
                event = self._final_save()
                if event is not None:
                    yield event
            log.close(Event("done", run.step, "training finished" if run.step >= self.total_steps
                            else "training stopped"))
            if self.claim is not None:
                self.claim.release()

    def _final_save(self) -> Event | None:
        if self._nan_seen or self.state is None or self.saver.last_step == self.step:
            return None
        return next(self._save(), None)

    def nets_train(self, mode: bool) -> None:
        for net in self.nets.values():
            net.train(mode)

    def _update_ema(self) -> None:
        # Warm-up: early on the average would be mostly the random initial weights, so the
        # decay starts low and rises to train.ema: min(ema, (1 + step) / (10 + step)).
        decay = min(self.cfg.train.ema, (1.0 + self.step) / (10.0 + self.step))
        G, G_ema = self.nets["G"], self.G_ema
        with torch.no_grad():
            ema_p = list(G_ema.parameters())
            torch._foreach_lerp_(ema_p, [p.detach() for p in G.parameters()], 1.0 - decay)
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)

    def generator_for_sampling(self) -> torch.nn.Module:
        return self.grids.generator()

    def _weights(self) -> Event:
        """CPU copies of what a viewer draws with, taken between steps so no update is half applied.
        Not logged: it is an answer to the driver, not part of the run's history."""
        def cpu(net):
            return {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}

        states = {"G": cpu(self.generator_for_sampling())}
        if "E" in self.nets:
            states["E"] = cpu(self.nets["E"])
        return Event(WEIGHTS, self.step, f"generator weights at step {self.step}",
                     data={"step": self.step, "model": copy.deepcopy(self.cfg.model),
                           "data": copy.deepcopy(self.cfg.data), "states": states})

    def sample_images(self) -> torch.Tensor:
        """The fixed-noise samples (eval mode, EMA weights where present), on the CPU in [-1, 1]."""
        return self.grids.images()

    def instance_noise(self) -> float:
        """σ of the instance noise for the step about to run: linear from train.instance_noise at
        step 0 to train.instance_noise_end at the last step."""
        t = self.cfg.train
        if t.instance_noise == t.instance_noise_end == 0:
            return 0.0
        frac = self.step / max(1, self.total_steps - 1)
        return t.instance_noise + (t.instance_noise_end - t.instance_noise) * min(1.0, frac)

    # -- checkpoints, the best, health and rollback -------------------------------------------------
    def _save(self) -> Iterator[Event]:
        """The current state as a checkpoint (nothing on a rank that does not write the run)."""
        event = self.saver.save(self.state, self.step // self.feeder.steps_per_epoch, self.data.fingerprint)
        if event is not None:
            yield self.log.event(event)

    def _pin_best(self, figure: float) -> Iterator[Event]:
        run = self.state.progress
        run.best = {"step": run.step, best.FIGURE: figure}
        if self.log.writer is None:
            return
        if self.saver.last_step != run.step:  # the checkpoint written now carries the new best
            yield from self._save()
        yield self.log.event(self.saver.pin_best(run.step, figure, dict(run.best)))

    def _health_check(self) -> Iterator[Event]:
        from latentlab.train.health import RECON_IMAGES, recon_error

        s = self.state
        nets, error = s.parts.nets, None
        if "E" in nets and self.data.holdout:
            error = recon_error(nets["E"], nets["G"], self.feeder.holdout_batch(RECON_IMAGES))
        alerts = s.health.check(s.progress.step, self.grids.training_images(), list(self.history), recon_error=error)
        yield from self._raise(alerts)

    def _raise(self, alerts) -> Iterator[Event]:
        t, s = self.cfg.train, self.state
        # A condition alerts once, when it starts; the verdict lasts while it is active (or awaiting
        # confirmation), so no checkpoint written during a collapse becomes a rollback target.
        s.progress.healthy = s.health.healthy
        serious = [a for a in alerts if a.rollback]
        for a in alerts:
            yield self.log.event(Event("alert", self.step, f"{a.message} {a.advice}".strip(),
                                       data={"kind": a.kind, **a.data}))
        if serious and t.rollback:
            if self.saver.last_healthy is None:
                yield self.log.event(Event("info", self.step, "no healthy checkpoint yet to roll back to"))
            elif s.progress.rollbacks >= t.max_rollbacks:
                yield self.log.event(Event("info", self.step, f"rollback limit ({t.max_rollbacks}) reached"))
            else:
                yield self.log.event(self._rollback(serious[0].kind))

    def _rollback(self, reason: str) -> Event:
        """Back to the last healthy checkpoint's weights, optimizer and rule states, with a changed
        seed and lowered learning rates; the step count keeps going forward (the log stays append-only)."""
        t, s = self.cfg.train, self.state
        run = s.progress
        path = self.saver.last_healthy
        self.dist.barrier()  # rank 0 wrote the file
        tensors, meta = ckpt.read_checkpoint(path)
        load_state(s, tensors, meta, str(path), progress=False)
        run.rollbacks += 1
        torch.manual_seed(t.seed + 7919 * run.rollbacks)
        # The checkpoint's own learning rates (load_state restored them, as it restores the margin and
        # the L2 band: a setting changed since may be what went wrong), lowered once for every rollback
        # since that checkpoint was written, so returning to the same one twice lowers them twice.
        lower = t.rollback_lr_factor ** max(1, run.rollbacks - int(meta.get("rollbacks", 0)))
        for sched in s.sched.values():
            sched.base *= lower
        run.healthy = True
        self.history.clear()
        self.grids.forget()  # same step number, other weights
        if s.health is not None:
            s.health.reset()
        return Event("rollback", run.step, f"rolled back to {path.name} after {reason}; seed changed, learning "
                     f"rates of then x{lower:g} (lr_d {s.sched['D'].base:.3g}, lr_g {s.sched['G'].base:.3g})",
                     path=str(path), data={"kind": reason, "to_step": int(meta["step"]), "rollbacks": run.rollbacks})

    def _restore(self, path: Path) -> list[Event]:
        tensors, meta = ckpt.read_checkpoint(path)
        load_state(self.state, tensors, meta, str(path), progress=True)
        changed = apply_changed_rules(self.state, ckpt.config_from_meta(meta, str(path)).train)
        # A resumed run can roll back to the checkpoint it resumed from, if that one was healthy.
        self.state.progress.healthy = bool(meta.get("healthy", True))
        self.saver.restored(self.step, self.state.progress.healthy)
        events = [Event("info", self.step, f"resumed from {path.name} at step {self.step}"), *changed]
        if meta.get("data_fingerprint") != self.data.fingerprint:
            events.append(Event("alert", self.step, "the data differs from the data this run started with",
                                data={"kind": "data_changed"}))
        return events

    # -- settings ---------------------------------------------------------------------------------
    def _apply_setting(self, key: str, value: float) -> Event:
        # Live, "margin" is the margin of whichever balancing rule the run has (the VAE/GAN's too).
        targets = [(self.balance, "margin")] if key == "margin" else rule_fields(self.state).get(key, [])
        for rule, attr in targets:
            setattr(rule, attr, value)
        setattr(self.cfg.train, key, value)
        if self.log.writer is not None:  # config.toml stays the run's current settings (a resume reads it)
            self.log.writer.write_config(self.cfg.to_toml())
        return Event("setting", self.step, f"{key} set to {value:g}", data={"key": key, "value": value})

"""The training engine: one loop for the GUI, the CLI and torchrun.

`Trainer.run()` yields a `StepStats` per step and an `Event` for everything else (sample grids,
checkpoints, alerts). It knows nothing of its driver: commands arrive through a `Control`.
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

from latentlab.config import Config, TrainConfig, UserError
from latentlab.run import checkpoint as ckpt
from latentlab.run.claim import RunClaim, claim_run
from latentlab.run.control import Control, Event, StepStats
from latentlab.run.grids import save_grid, to_uint8
from latentlab.run.rundir import RunWriter
from latentlab.train import best, trainstate
from latentlab.train.distributed import DistContext
from latentlab.train.rules import AdaptiveL2, EquilibriumRule, LRSchedule, MarginRule
from latentlab.train.steps import NonFiniteLoss, gan_step, vaegan_step

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


class Trainer:
    def __init__(self, cfg: Config, out_dir: str | Path | None, *, resume: bool = False, force_new: bool = False,
                 control: Control | None = None, data_progress=None, dist: DistContext | None = None):
        self.cfg = cfg.copy().validate()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.resume = resume
        self.force_new = force_new
        self.claim: RunClaim | None = None  # the right to write out_dir (rank 0), taken first thing in setup()
        self.control = control or Control()
        self.data_progress = data_progress
        self.dist = dist or DistContext.single()
        self.device = self.dist.device or resolve_device(self.cfg.train.device)
        self.nets: dict[str, torch.nn.Module] = {}
        self.optims: dict[str, torch.optim.Optimizer] = {}
        self.step = 0
        self.total_steps = self.cfg.train.steps
        self.writer: RunWriter | None = None
        self.fixed_noise: torch.Tensor | None = None
        self.G_ema: torch.nn.Module | None = None
        self._nan_seen = False
        self._time_offset = 0.0
        self._last_ckpt_step = -1
        self.health = None  # a HealthMonitor once set up (train.health)
        self.quality = None  # a QualityTracker once set up (train.quality_every)
        self.best: dict | None = None  # {"step", "fd_random"} of the best quality so far (train/best.py)
        self.tb = None  # a TensorBoardSink on rank 0 when the tensorboard package is installed
        self.healthy = True  # the verdict of the latest health check
        self.rollbacks = 0
        self._last_healthy: Path | None = None
        self._history: deque[StepStats] = deque(maxlen=2000)
        self._sample_cache: tuple[int, torch.Tensor | None] = (-1, None)

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self) -> list[Event]:
        """Claim the run directory, load data, build nets and optimizers, restore a checkpoint.
        Separate from run() so a caller can show set-up progress; run() calls it when needed.
        A failure leaves the run directory as it was (a folder the claim created is removed)."""
        if self.out_dir is not None and self.dist.is_main:
            self.claim = claim_run(self.out_dir, resume=self.resume, force_new=self.force_new)
        try:
            return self._setup()
        except BaseException:
            if self.claim is not None and self.writer is None:
                self.claim.abandon()
            elif self.claim is not None:
                self.claim.release()
            raise

    def _setup(self) -> list[Event]:
        from latentlab.data import BatchFeeder, open_source, skip_summary
        from latentlab.models import build_models

        cfg, t = self.cfg, self.cfg.train
        events = []
        resume_path = None
        if self.resume:
            resume_path = self.out_dir / "checkpoints" / "latest.safetensors" if self.out_dir else None
            if resume_path is None or not resume_path.parent.parent.is_dir():
                raise UserError(f"--resume: {self.out_dir}: no run directory to resume")
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
        self.feeder = BatchFeeder(self.data, t.batch, t.seed, self.device, channels_last=t.channels_last)
        if self.total_steps == 0:
            self.total_steps = max(1, t.epochs) * self.feeder.steps_per_epoch
        events.insert(0, Event("info", 0, f"data: {len(self.data)} images of {cfg.data.source}"
                               f"{skip_summary(self.data)}", data={"images": len(self.data),
                                                                    "skipped": self.data.skipped}))

        torch.manual_seed(t.seed)
        self.nets = {name: self.dist.convert_batchnorm(net) for name, net in build_models(cfg.model).items()}
        for net in self.nets.values():
            net.to(self.device)
            if t.channels_last:
                net.to(memory_format=torch.channels_last)
        self.fixed_noise = torch.randn(t.sample_count, cfg.model.latent_dim, generator=torch.Generator().manual_seed(
            t.seed + 1), device="cpu").to(self.device)
        if t.ema > 0:
            self.G_ema = copy.deepcopy(self.nets["G"]).eval().requires_grad_(False)
        self.optims = {name: self._make_optimizer(net, name) for name, net in self.nets.items()}
        self.sched = {"D": LRSchedule(t.lr_d, t.warmup, t.lr_decay, t.lr_min),
                      "G": LRSchedule(t.lr_g, t.warmup, t.lr_decay, t.lr_min)}
        self.balance = (EquilibriumRule(t.vae_equilibrium, t.vae_margin) if cfg.model.arch == "vaegan"
                        else MarginRule(t.margin))
        self.l2 = AdaptiveL2(t.l2_adaptive, t.l2_init, t.l2_band_low, t.l2_band_high, t.l2_step)
        self.autocast = None
        if self.device.type == "cuda" and t.amp in ("auto", "bf16"):
            self.autocast = partial(torch.autocast, "cuda", dtype=torch.bfloat16)
        elif t.amp == "bf16":
            self.autocast = partial(torch.autocast, self.device.type, dtype=torch.bfloat16)
        if t.health:
            from latentlab.train.health import HealthMonitor

            self.health = HealthMonitor(self.cfg, self.data)
        if t.quality_every and self.dist.is_main:
            from latentlab.metrics.tracking import QualityTracker

            self.quality = QualityTracker(self.cfg, self.data)
        if resume_path is not None:
            events += self._restore(resume_path)
            for event in events:  # this session's notes belong after the log kept so far
                event.step = max(event.step, self.step)
        if self.claim is not None:  # only once the inputs and the checkpoint proved good
            self.claim.begin()
            self.writer = RunWriter(self.out_dir)
            if self.claim.moved_to is not None:
                events.append(Event("info", self.step, f"the earlier run in {self.out_dir} was moved to "
                                    f"{self.claim.moved_to}", path=str(self.claim.moved_to)))
            if self.claim.swept:
                events.append(Event("info", self.step, f"removed {self.claim.swept} temporary file(s) left by "
                                    "interrupted writes"))
            if self.resume:  # never a step twice: drop what was logged after the restored checkpoint
                self.writer.truncate_after(self.step)
            self.writer.write_config(cfg.to_toml())
            from latentlab.run.tbevents import open_sink

            self.tb = open_sink(self.out_dir, purge_step=self.step + 1 if self.resume else None)
        return events

    def _make_optimizer(self, net: torch.nn.Module, name: str) -> torch.optim.Optimizer:
        t = self.cfg.train
        lr = t.lr_d if name == "D" else t.lr_g
        if t.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=lr, betas=(t.adam_beta1, t.adam_beta2),
                                    weight_decay=t.weight_decay)
        return torch.optim.RMSprop(net.parameters(), lr=lr, alpha=t.rms_alpha, eps=t.rms_eps,
                                   weight_decay=t.weight_decay)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> Iterator[StepStats | Event]:
        if not self.nets:
            for event in self.setup():
                yield self._log_event(event)
        t = self.cfg.train
        step_fn = vaegan_step if self.cfg.model.arch == "vaegan" else gan_step
        run_clock = time.perf_counter() - self._time_offset
        rate = None
        skip_run = {"D": 0, "G": 0}
        self.nets_train(True)
        finished_cleanly = False
        try:
            while self.step < self.total_steps:
                action = self.control.next_action()
                for key, value in self.control.take_settings().items():
                    yield self._log_event(self._apply_setting(key, value))
                if self.control.take_save():
                    yield self._save()
                if action == "stop":
                    break
                if action == "idle":
                    run_clock += 0.1  # paused time does not count
                    continue
                epoch = self.step // self.feeder.steps_per_epoch
                for name, opt in self.optims.items():
                    lr = self.sched["D" if name == "D" else "G"].lr(self.step, epoch)
                    for group in opt.param_groups:
                        group["lr"] = lr
                started = time.perf_counter()
                x = self.dist.shard(self.feeder.get(self.step))
                # BatchNorm running statistics change in the forward pass, before any loss is seen;
                # a copy (a few KB) lets a non-finite step leave no trace at all.
                buffers = {name: [b.clone() for b in net.buffers()] for name, net in self.nets.items()}
                try:
                    result = step_fn(self, x)
                except NonFiniteLoss as exc:
                    with torch.no_grad():
                        for name, saved in buffers.items():
                            for b, old in zip(self.nets[name].buffers(), saved):
                                b.copy_(old)
                    self._nan_seen = True
                    self.control.pause()
                    yield self._log_event(Event("alert", self.step + 1, f"{exc}. Training stopped before the update; "
                                                "the last checkpoint is intact. Try lower learning rates.",
                                                data={"kind": "nan", **exc.values}))
                    return
                self.step += 1
                if self.G_ema is not None:
                    self._update_ema()
                elapsed = time.perf_counter() - started
                inst = x.shape[0] * self.dist.world / max(elapsed, 1e-9)
                rate = inst if rate is None else 0.9 * rate + 0.1 * inst
                stats = replace(result, step=self.step, epoch=epoch, time=time.perf_counter() - run_clock,
                                l2_d=self.l2.coef, lr_d=self.optims["D"].param_groups[0]["lr"],
                                lr_g=self.optims["G"].param_groups[0]["lr"], img_per_s=rate)
                self._time_offset = stats.time
                if self.writer is not None and self.step % t.log_every == 0:
                    row = stats.to_row()
                    self.writer.metric(row)
                    if self.tb is not None:
                        self.tb.metric(row)
                self._history.append(stats)
                yield stats
                for net, updated in (("D", result.d_updated), ("G", result.g_updated)):
                    skip_run[net] = 0 if updated else skip_run[net] + 1
                    if skip_run[net] == SKIP_STORM:
                        yield self._log_event(Event("alert", self.step, f"{net}'s update skipped for {SKIP_STORM} "
                                                    "steps in a row: the balance is stuck; consider changing the "
                                                    "margin or learning rates", data={"kind": "skip_storm"}))
                if self.step % t.sample_every == 0 or self.step == self.total_steps:
                    yield from self._samples()
                if self.health is not None and self.step % (t.health_every or t.sample_every) == 0:
                    yield from self._health_check()
                if self.quality is not None and self.step % t.quality_every == 0:
                    event = self._log_event(self.quality.measure(self.step, self.generator_for_sampling()))
                    yield event
                    if event.kind == "quality" and self.health is not None:
                        yield from self._raise(self.health.check_quality(self.step, event.data))
                    if event.kind == "quality" and best.is_better(event.data, self.best):
                        yield from self._pin_best(event.data[best.FIGURE])
                if self.step % t.checkpoint_every == 0 and self._last_ckpt_step != self.step:
                    yield self._save()
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
            if self.writer is not None:
                try:
                    self.writer.event(Event("done", self.step, "training finished" if self.step >= self.total_steps
                                            else "training stopped").to_row())
                except OSError:  # a full disk: the error that stopped the run is the one to report
                    pass
                self.writer.close()
            if self.tb is not None:
                self.tb.close()
            if self.claim is not None:
                self.claim.release()

    def _final_save(self) -> Event | None:
        if self._nan_seen or not self.nets or self._last_ckpt_step == self.step:
            return None
        return self._save()

    def nets_train(self, mode: bool) -> None:
        for net in self.nets.values():
            net.train(mode)

    def _update_ema(self) -> None:
        # Warm-up: early on the average would be mostly the random initial weights, so the
        # decay starts low and rises to train.ema: min(ema, (1 + step) / (10 + step)).
        decay = min(self.cfg.train.ema, (1.0 + self.step) / (10.0 + self.step))
        G = self.nets["G"]
        with torch.no_grad():
            ema_p = list(self.G_ema.parameters())
            torch._foreach_lerp_(ema_p, [p.detach() for p in G.parameters()], 1.0 - decay)
            for b_ema, b in zip(self.G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)

    def generator_for_sampling(self) -> torch.nn.Module:
        return self.G_ema if self.G_ema is not None else self.nets["G"]

    # -- distributed hooks used by steps.py -------------------------------------------------------
    def reduce_errors(self, *losses: torch.Tensor) -> list[float]:
        return self.dist.mean_floats(torch.stack([loss.detach().float() for loss in losses]))

    def noise(self, n_local: int) -> torch.Tensor:
        """This rank's slice of one global batch of z: every rank draws the same global batch, so a
        run's z (and its RNG state) do not depend on how many ranks share the work."""
        z = torch.randn(n_local * self.dist.world, self.cfg.model.latent_dim, device=self.device)
        return self.dist.shard(z)

    def instance_noise(self) -> float:
        """σ of the instance noise for the step about to run: linear from train.instance_noise at
        step 0 to train.instance_noise_end at the last step."""
        t = self.cfg.train
        if t.instance_noise == t.instance_noise_end == 0:
            return 0.0
        frac = self.step / max(1, self.total_steps - 1)
        return t.instance_noise + (t.instance_noise_end - t.instance_noise) * min(1.0, frac)

    def add_instance_noise(self, images: torch.Tensor, sigma: float) -> torch.Tensor:
        """images + σ·N(0, 1), the noise drawn for the global batch and sharded, as `noise` does."""
        shape = (images.shape[0] * self.dist.world, *images.shape[1:])
        eps = torch.randn(shape, device=images.device, dtype=images.dtype)
        return images + sigma * self.dist.shard(eps)

    def sync_grads(self, name: str) -> None:
        self.dist.all_reduce_grads(self.nets[name])

    # -- outputs --------------------------------------------------------------------------------
    def _log_event(self, event: Event) -> Event:
        if self.writer is not None:
            row = event.to_row()
            self.writer.event(row)
            if self.tb is not None:
                self.tb.event(row)
        return event

    def _pin_best(self, figure: float) -> Iterator[Event]:
        self.best = {"step": self.step, best.FIGURE: figure}
        if self.writer is None:
            return
        if self._last_ckpt_step != self.step:  # the checkpoint written now carries the new best
            yield self._save()
        path = best.pin(self.writer.checkpoint_path(self.step), self.writer.checkpoints)
        yield self._log_event(Event("best", self.step, f"best checkpoint so far: step {self.step} "
                                    f"({best.FIGURE} {figure:.4g})", path=str(path), data=dict(self.best)))

    def _rule_fields(self) -> dict[str, list[tuple[object, str]]]:
        """The train keys whose values live in a rule's state, each with the attributes it sets. A
        checkpoint restores those states, so on resume the config alone would not reach them."""
        scheds = list(self.sched.values())
        fields = {"l2_adaptive": [(self.l2, "enabled")], "l2_band_low": [(self.l2, "band_low")],
                  "l2_band_high": [(self.l2, "band_high")], "l2_step": [(self.l2, "step")],
                  "lr_d": [(self.sched["D"], "base")], "lr_g": [(self.sched["G"], "base")],
                  "warmup": [(s, "warmup") for s in scheds], "lr_decay": [(s, "decay") for s in scheds],
                  "lr_min": [(s, "lr_min") for s in scheds]}
        if isinstance(self.balance, EquilibriumRule):
            fields.update(vae_equilibrium=[(self.balance, "equilibrium")], vae_margin=[(self.balance, "margin")])
        else:
            fields["margin"] = [(self.balance, "margin")]
        return fields

    def _apply_setting(self, key: str, value: float) -> Event:
        # Live, "margin" is the margin of whichever balancing rule the run has (the VAE/GAN's too).
        targets = [(self.balance, "margin")] if key == "margin" else self._rule_fields().get(key, [])
        for rule, attr in targets:
            setattr(rule, attr, value)
        setattr(self.cfg.train, key, value)
        if self.writer is not None:  # config.toml stays the run's current settings (a resume reads it)
            self.writer.write_config(self.cfg.to_toml())
        return Event("setting", self.step, f"{key} set to {value:g}", data={"key": key, "value": value})

    def _apply_changed_rules(self, saved: TrainConfig) -> list[Event]:
        """On resume: the rule settings this config changes from the checkpoint's (`--set lr_d=…`,
        the form's values) replace the restored ones, each logged as a setting."""
        events = []
        for key, targets in self._rule_fields().items():
            old, new = getattr(saved, key), getattr(self.cfg.train, key)
            if old == new:
                continue
            for rule, attr in targets:
                setattr(rule, attr, type(getattr(rule, attr))(new))
            events.append(Event("setting", self.step, f"{key} set to {_shown(new)} on resume (the checkpoint's "
                                f"run had {_shown(old)})", data={"key": key, "value": new}))
        return events

    def sample_images(self) -> torch.Tensor:
        """The fixed-noise samples (eval mode, EMA weights where present), on the CPU in [-1, 1]."""
        if self._sample_cache[0] == self.step:
            return self._sample_cache[1]
        G = self.generator_for_sampling()
        was_training = G.training
        G.eval()
        with torch.no_grad():
            images = G(self.fixed_noise).float().cpu()
        G.train(was_training)
        self._sample_cache = (self.step, images)
        return images

    def _health_check(self) -> Iterator[Event]:
        from latentlab.train.health import RECON_IMAGES, recon_error

        error = None
        if "E" in self.nets and self.data.holdout:
            error = recon_error(self.nets["E"], self.nets["G"], self.feeder.holdout_batch(RECON_IMAGES))
        alerts = self.health.check(self.step, self._health_samples(), list(self._history), recon_error=error)
        yield from self._raise(alerts)

    def _raise(self, alerts) -> Iterator[Event]:
        t = self.cfg.train
        # A condition alerts once, when it starts; the verdict lasts while it is active (or awaiting
        # confirmation), so no checkpoint written during a collapse becomes a rollback target.
        self.healthy = self.health.healthy
        serious = [a for a in alerts if a.rollback]
        for a in alerts:
            yield self._log_event(Event("alert", self.step, f"{a.message} {a.advice}".strip(),
                                        data={"kind": a.kind, **a.data}))
        if serious and t.rollback:
            if self._last_healthy is None:
                yield self._log_event(Event("info", self.step, "no healthy checkpoint yet to roll back to"))
            elif self.rollbacks >= t.max_rollbacks:
                yield self._log_event(Event("info", self.step, f"rollback limit ({t.max_rollbacks}) reached"))
            else:
                yield self._log_event(self._rollback(serious[0].kind))

    def _health_samples(self) -> torch.Tensor:
        """The training G's fixed-noise samples (eval mode): EMA weights trail G by about 1/(1-ema)
        steps, which would delay a collapse alert by as much."""
        if self.G_ema is None:
            return self.sample_images()
        G = self.nets["G"]
        was_training = G.training
        G.eval()
        with torch.no_grad():
            images = G(self.fixed_noise).float().cpu()
        G.train(was_training)
        return images

    def _rollback(self, reason: str) -> Event:
        """Back to the last healthy checkpoint's weights, optimizer and rule states, with a changed
        seed and lowered learning rates; the step count keeps going forward (the log stays append-only)."""
        t = self.cfg.train
        path = self._last_healthy
        self.dist.barrier()  # rank 0 wrote the file
        tensors, meta = ckpt.read_checkpoint(path)
        trainstate.load_state(self, tensors, meta, str(path), progress=False)
        self.rollbacks += 1
        torch.manual_seed(t.seed + 7919 * self.rollbacks)
        # The checkpoint's own learning rates (load_state restored them, as it restores the margin and
        # the L2 band: a setting changed since may be what went wrong), lowered once for every rollback
        # since that checkpoint was written, so returning to the same one twice lowers them twice.
        lower = t.rollback_lr_factor ** max(1, self.rollbacks - int(meta.get("rollbacks", 0)))
        for sched in self.sched.values():
            sched.base *= lower
        self.healthy = True
        self._history.clear()
        self._sample_cache = (-1, None)  # same step number, other weights
        if self.health is not None:
            self.health.reset()
        return Event("rollback", self.step, f"rolled back to {path.name} after {reason}; seed changed, learning "
                     f"rates of then x{lower:g} (lr_d {self.sched['D'].base:.3g}, lr_g {self.sched['G'].base:.3g})",
                     path=str(path), data={"kind": reason, "to_step": int(meta["step"]), "rollbacks": self.rollbacks})

    def _samples(self) -> Iterator[Event]:
        if not self.dist.is_main:
            return
        images = self.sample_images()
        if self.writer is None:
            yield Event("sample", self.step, "sample grid", data={"images": to_uint8(images).cpu().numpy()})
            return
        path = save_grid(images, self.writer.sample_path(self.step))
        yield self._log_event(Event("sample", self.step, "sample grid", path=str(path)))
        if "E" in self.nets and self.step % self.cfg.train.checkpoint_every == 0:
            yield self._log_event(self._recon_grid())

    def _recon_grid(self) -> Event:
        E, G = self.nets["E"], self.generator_for_sampling()
        x = self.feeder.holdout_batch(min(16, self.data.holdout) or 8)
        modes = (E.training, G.training)
        E.eval(), G.eval()
        with torch.no_grad():
            rec = G(E(x)[0])
        E.train(modes[0]), G.train(modes[1])
        path = save_grid(torch.cat([x.float().cpu(), rec.float().cpu()]), self.writer.sample_path(self.step, "recon"),
                         rows=2)
        return Event("recon", self.step, "reconstructions of held-out images (input above)", path=str(path))

    def _save(self) -> Event | None:
        if self.out_dir is not None and self.healthy:
            self._last_healthy = self.out_dir / "checkpoints" / f"step-{self.step:08d}.safetensors"
        if not self.dist.is_main or self.writer is None:
            return None
        tensors, meta = self.state_tensors()
        path = ckpt.save_checkpoint(self.writer.checkpoint_path(self.step), tensors, meta)
        ckpt.save_checkpoint(self.writer.checkpoints / "latest.safetensors", tensors, meta)
        self._last_ckpt_step = self.step
        return self._log_event(Event("checkpoint", self.step, f"checkpoint at step {self.step}", path=str(path)))

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        return trainstate.state_tensors(self)

    def _restore(self, path: Path) -> list[Event]:
        tensors, meta = ckpt.read_checkpoint(path)
        trainstate.load_state(self, tensors, meta, str(path), progress=True)
        changed = self._apply_changed_rules(ckpt.config_from_meta(meta, str(path)).train)
        # A resumed run can roll back to the checkpoint it resumed from, if that one was healthy.
        self.healthy = bool(meta.get("healthy", True))
        own = path.parent / f"step-{self.step:08d}.safetensors"
        self._last_healthy = own if self.healthy and own.is_file() else None
        events = [Event("info", self.step, f"resumed from {path.name} at step {self.step}"), *changed]
        if meta.get("data_fingerprint") != self.data.fingerprint:
            events.append(Event("alert", self.step, "the data differs from the data this run started with",
                                data={"kind": "data_changed"}))
        return events


def _shown(value) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"

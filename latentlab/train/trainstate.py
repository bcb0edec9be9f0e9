"""A run's complete state (`TrainState`): built for a new run, saved as checkpoint tensors +
metadata, and restored from them (exact resume, rollback)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial

import torch

from latentlab.config import Config, TrainConfig, UserError
from latentlab.run import checkpoint as ckpt
from latentlab.run.control import Event
from latentlab.train.distributed import DistContext
from latentlab.train.rules import AdaptiveL2, EquilibriumRule, LRSchedule, MarginRule
from latentlab.train.steps import StepParts


@dataclass
class Progress:
    """Where the run is, besides weights and rule states."""

    step: int = 0
    time: float = 0.0  # seconds trained so far, paused time excluded
    rollbacks: int = 0
    healthy: bool = True  # the verdict of the latest health check
    best: dict | None = None  # {"step", "fd_random"} of the best quality so far (train/best.py)


@dataclass
class TrainState:
    """Everything a checkpoint holds."""

    parts: StepParts  # nets, optimizers, balancing and L2 rules
    sched: dict[str, LRSchedule]  # "D" and "G"
    fixed_noise: torch.Tensor  # the z of every sample grid
    G_ema: torch.nn.Module | None = None
    health: object | None = None  # a HealthMonitor (its confirmation counters resume too)
    progress: Progress = field(default_factory=Progress)


def build_state(cfg: Config, dist: DistContext, device: torch.device) -> TrainState:
    """A new run's nets (seeded by train.seed), optimizers, rules and fixed noise; no health monitor yet."""
    from latentlab.models import build_models

    t = cfg.train
    torch.manual_seed(t.seed)
    nets = {name: dist.convert_batchnorm(net) for name, net in build_models(cfg.model).items()}
    for net in nets.values():
        net.to(device)
        if t.channels_last:
            net.to(memory_format=torch.channels_last)
    fixed_noise = torch.randn(t.sample_count, cfg.model.latent_dim, generator=torch.Generator().manual_seed(
        t.seed + 1), device="cpu").to(device)
    G_ema = copy.deepcopy(nets["G"]).eval().requires_grad_(False) if t.ema > 0 else None
    optims = {name: _optimizer(t, net, name) for name, net in nets.items()}
    sched = {"D": LRSchedule(t.lr_d, t.warmup, t.lr_decay, t.lr_min),
             "G": LRSchedule(t.lr_g, t.warmup, t.lr_decay, t.lr_min)}
    balance = (EquilibriumRule(t.vae_equilibrium, t.vae_margin) if cfg.model.arch == "vaegan"
               else MarginRule(t.margin))
    l2 = AdaptiveL2(t.l2_adaptive, t.l2_init, t.l2_band_low, t.l2_band_high, t.l2_step)
    autocast = None
    if device.type == "cuda" and t.amp in ("auto", "bf16"):
        autocast = partial(torch.autocast, "cuda", dtype=torch.bfloat16)
    elif t.amp == "bf16":
        autocast = partial(torch.autocast, device.type, dtype=torch.bfloat16)
    parts = StepParts(cfg, nets, optims, balance, l2, dist, device, autocast)
    return TrainState(parts, sched, fixed_noise, G_ema)


def _optimizer(t: TrainConfig, net: torch.nn.Module, name: str) -> torch.optim.Optimizer:
    lr = t.lr_d if name == "D" else t.lr_g
    if t.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(t.adam_beta1, t.adam_beta2),
                                weight_decay=t.weight_decay)
    return torch.optim.RMSprop(net.parameters(), lr=lr, alpha=t.rms_alpha, eps=t.rms_eps,
                               weight_decay=t.weight_decay)


def rule_fields(s: TrainState) -> dict[str, list[tuple[object, str]]]:
    """The train keys whose values live in a rule's state, each with the attributes it sets. A
    checkpoint restores those states, so on resume the config alone would not reach them."""
    l2, sched, balance = s.parts.l2, s.sched, s.parts.balance
    scheds = list(sched.values())
    fields = {"l2_adaptive": [(l2, "enabled")], "l2_band_low": [(l2, "band_low")],
              "l2_band_high": [(l2, "band_high")], "l2_step": [(l2, "step")],
              "lr_d": [(sched["D"], "base")], "lr_g": [(sched["G"], "base")],
              "warmup": [(x, "warmup") for x in scheds], "lr_decay": [(x, "decay") for x in scheds],
              "lr_min": [(x, "lr_min") for x in scheds]}
    if isinstance(balance, EquilibriumRule):
        fields.update(vae_equilibrium=[(balance, "equilibrium")], vae_margin=[(balance, "margin")])
    else:
        fields["margin"] = [(balance, "margin")]
    return fields


def apply_changed_rules(s: TrainState, saved: TrainConfig) -> list[Event]:
    """On resume: the rule settings this config changes from the checkpoint's (`--set lr_d=…`,
    the form's values) replace the restored ones, each logged as a setting."""
    events = []
    for key, targets in rule_fields(s).items():
        old, new = getattr(saved, key), getattr(s.parts.cfg.train, key)
        if old == new:
            continue
        for rule, attr in targets:
            setattr(rule, attr, type(getattr(rule, attr))(new))
        events.append(Event("setting", s.progress.step, f"{key} set to {_shown(new)} on resume (the checkpoint's "
                            f"run had {_shown(old)})", data={"key": key, "value": new}))
    return events


def _shown(value) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def state_tensors(s: TrainState, *, epoch: int, data_fingerprint: str) -> tuple[dict[str, torch.Tensor], dict]:
    p, cfg = s.parts, s.parts.cfg
    tensors: dict[str, torch.Tensor] = {}
    for name, net in p.nets.items():
        tensors.update({f"{name}.{k}": v for k, v in net.state_dict().items()})
    if s.G_ema is not None:
        tensors.update({f"G_ema.{k}": v for k, v in s.G_ema.state_dict().items()})
    optim_info = {}
    for name, opt in p.optims.items():
        t_opt, info = ckpt.optimizer_to_tensors(opt, f"optim.{name}")
        tensors.update(t_opt)
        optim_info[name] = info
    tensors["rng.cpu"] = torch.get_rng_state()
    if p.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(p.device)
    tensors["fixed_noise"] = s.fixed_noise
    rules = {"balance": p.balance.state_dict(), "l2": p.l2.state_dict(),
             "sched": {k: v.state_dict() for k, v in s.sched.items()}}
    if s.health is not None:
        rules["health"] = s.health.state_dict()
    run = s.progress
    meta = {"config": cfg.to_toml(), "arch": cfg.model.arch, "step": run.step,
            "epoch": epoch, "time": run.time, "rules": rules,
            "optimizers": optim_info, "data_fingerprint": data_fingerprint, "world": p.dist.world,
            "healthy": run.healthy, "rollbacks": run.rollbacks, "best": run.best}
    return tensors, meta


def load_state(s: TrainState, tensors: dict[str, torch.Tensor], meta: dict, where: str, progress: bool) -> None:
    """Restore nets, EMA, optimizers and rules; with `progress` also the step, clock and RNG
    (a resume). Without it (a rollback) the run keeps counting forward from where it is."""
    p, cfg = s.parts, s.parts.cfg
    saved = ckpt.config_from_meta(meta, where)
    ckpt.require_meta(meta, tensors, where, {"optimizers": tuple(p.optims), "rules": ("balance", "l2", "sched")},
                      ("rng.cpu", "fixed_noise") if progress else (), "resume training")
    if progress and "step" not in meta:
        raise UserError(f"{where}: has no 'step' in its metadata, needed to resume training")
    if saved.model != cfg.model:
        raise UserError(f"{where}: the checkpoint's model ({saved.model.arch}, {saved.model.image_size} px) "
                        "differs from the config; resume with the run's own config.toml")
    for name, net in p.nets.items():
        ckpt.load_net(net, ckpt.split_prefix(tensors, name), name, where)
    if s.G_ema is not None:
        ema = ckpt.split_prefix(tensors, "G_ema") or ckpt.split_prefix(tensors, "G")
        ckpt.load_net(s.G_ema, ema, "G_ema", where)
    for name, opt in p.optims.items():
        ckpt.optimizer_from_tensors(opt, tensors, meta["optimizers"][name], f"optim.{name}", where,
                                    expect_state=int(meta.get("step", 0)) > 0)
    try:
        rules = meta["rules"]
        p.balance.load_state_dict(rules["balance"])
        p.l2.load_state_dict(rules["l2"])
        for key, state in rules["sched"].items():
            s.sched[key].load_state_dict(state)
        if progress and s.health is not None and "health" in rules:
            s.health.load_state_dict(rules["health"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{where}: the rule states in its metadata are malformed ({type(exc).__name__}: {exc})") from None
    if not progress:
        return
    noise = tensors["fixed_noise"]
    if noise.dim() != 2 or noise.shape[1] != cfg.model.latent_dim or not noise.is_floating_point():
        raise UserError(f"{where}: fixed_noise has shape {tuple(noise.shape)}, expected (N, {cfg.model.latent_dim})")
    try:
        torch.set_rng_state(tensors["rng.cpu"])
        if "rng.cuda" in tensors and p.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], p.device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"{where}: rng.cpu is not a random generator state ({exc})") from None
    s.fixed_noise = noise.to(p.device)
    s.progress.step = int(meta["step"])
    s.progress.time = float(meta.get("time", 0.0))
    s.progress.rollbacks = int(meta.get("rollbacks", 0))
    s.progress.best = meta.get("best")  # a rollback keeps the best so far: it is still on disk

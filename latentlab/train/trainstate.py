"""A Trainer's complete state as checkpoint tensors + metadata, and back (exact resume, rollback)."""

from __future__ import annotations

import torch

from latentlab.config import UserError
from latentlab.run import checkpoint as ckpt


def state_tensors(t) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    for name, net in t.nets.items():
        tensors.update({f"{name}.{k}": v for k, v in net.state_dict().items()})
    if t.G_ema is not None:
        tensors.update({f"G_ema.{k}": v for k, v in t.G_ema.state_dict().items()})
    optim_info = {}
    for name, opt in t.optims.items():
        t_opt, info = ckpt.optimizer_to_tensors(opt, f"optim.{name}")
        tensors.update(t_opt)
        optim_info[name] = info
    tensors["rng.cpu"] = torch.get_rng_state()
    if t.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(t.device)
    tensors["fixed_noise"] = t.fixed_noise
    rules = {"balance": t.balance.state_dict(), "l2": t.l2.state_dict(),
             "sched": {k: v.state_dict() for k, v in t.sched.items()}}
    if t.health is not None:
        rules["health"] = t.health.state_dict()
    meta = {"config": t.cfg.to_toml(), "arch": t.cfg.model.arch, "step": t.step,
            "epoch": t.step // t.feeder.steps_per_epoch, "time": t._time_offset, "rules": rules,
            "optimizers": optim_info, "data_fingerprint": t.data.fingerprint, "world": t.dist.world,
            "healthy": t.healthy, "rollbacks": t.rollbacks, "best": t.best}
    return tensors, meta


def load_state(t, tensors: dict[str, torch.Tensor], meta: dict, where: str, progress: bool) -> None:
    """Restore nets, EMA, optimizers and rules; with `progress` also the step, clock and RNG
    (a resume). Without it (a rollback) the run keeps counting forward from where it is."""
    saved = ckpt.config_from_meta(meta, where)
    ckpt.require_meta(meta, tensors, where, {"optimizers": tuple(t.optims), "rules": ("balance", "l2", "sched")},
                      ("rng.cpu", "fixed_noise") if progress else (), "resume training")
    if progress and "step" not in meta:
        raise UserError(f"{where}: has no 'step' in its metadata, needed to resume training")
    if saved.model != t.cfg.model:
        raise UserError(f"{where}: the checkpoint's model ({saved.model.arch}, {saved.model.image_size} px) "
                        "differs from the config; resume with the run's own config.toml")
    for name, net in t.nets.items():
        ckpt.load_net(net, ckpt.split_prefix(tensors, name), name, where)
    if t.G_ema is not None:
        ema = ckpt.split_prefix(tensors, "G_ema") or ckpt.split_prefix(tensors, "G")
        ckpt.load_net(t.G_ema, ema, "G_ema", where)
    for name, opt in t.optims.items():
        ckpt.optimizer_from_tensors(opt, tensors, meta["optimizers"][name], f"optim.{name}", where,
                                    expect_state=int(meta.get("step", 0)) > 0)
    try:
        rules = meta["rules"]
        t.balance.load_state_dict(rules["balance"])
        t.l2.load_state_dict(rules["l2"])
        for key, state in rules["sched"].items():
            t.sched[key].load_state_dict(state)
        if progress and t.health is not None and "health" in rules:
            t.health.load_state_dict(rules["health"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{where}: the rule states in its metadata are malformed ({type(exc).__name__}: {exc})") from None
    if not progress:
        return
    noise = tensors["fixed_noise"]
    if noise.dim() != 2 or noise.shape[1] != t.cfg.model.latent_dim or not noise.is_floating_point():
        raise UserError(f"{where}: fixed_noise has shape {tuple(noise.shape)}, expected (N, {t.cfg.model.latent_dim})")
    try:
        torch.set_rng_state(tensors["rng.cpu"])
        if "rng.cuda" in tensors and t.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], t.device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"{where}: rng.cpu is not a random generator state ({exc})") from None
    t.fixed_noise = noise.to(t.device)
    t.step = int(meta["step"])
    t._time_offset = float(meta.get("time", 0.0))
    t._last_ckpt_step = t.step
    t.rollbacks = int(meta.get("rollbacks", 0))
    t.best = meta.get("best")  # a rollback keeps the best so far: it is still on disk

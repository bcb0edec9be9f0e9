"""One optimisation step of each model family (docs/algorithms.md §1-3).

Each function takes its inputs explicitly (`StepParts`: the nets, their optimizers, the balancing
and L2 rules, the settings) and never sees the loop. It computes the three monitored errors, lets
the balancing rule decide which nets update, refuses to apply any update whose loss is not finite,
and returns plain floats: the loss part of a `StepStats`, which the engine completes with the step,
time, rates and settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from latentlab.config import Config
from latentlab.run.control import StepStats
from latentlab.train.distributed import DistContext
from latentlab.train.rules import AdaptiveL2, EquilibriumRule, MarginRule


@dataclass
class StepParts:
    """What a step reads and updates. The engine owns one (`Trainer.parts`); the Trainer also answers
    to these names itself, so a test may hand it to a step directly."""

    cfg: Config
    nets: dict[str, torch.nn.Module]  # "G", "D" and, for the VAE/GAN, "E"
    optims: dict[str, torch.optim.Optimizer]  # one per net, same keys
    balance: MarginRule | EquilibriumRule  # which nets update this step
    l2: AdaptiveL2  # D's weight decay, adapted to G's error
    dist: DistContext  # how the ranks share a global batch
    device: torch.device
    autocast: Callable | None = None  # a bf16 autocast context factory, or None for fp32

    def noise(self, n_local: int) -> torch.Tensor:
        return noise(self, n_local)

    def reduce_errors(self, *losses: torch.Tensor) -> list[float]:
        return reduce_errors(self, *losses)

    def sync_grads(self, name: str) -> None:
        sync_grads(self, name)


def noise(t, n_local: int) -> torch.Tensor:
    """This rank's slice of one global batch of z: every rank draws the same global batch, so a
    run's z (and its RNG state) do not depend on how many ranks share the work."""
    z = torch.randn(n_local * t.dist.world, t.cfg.model.latent_dim, device=t.device)
    return t.dist.shard(z)


def add_instance_noise(t, images: torch.Tensor, sigma: float) -> torch.Tensor:
    """images + σ·N(0, 1), the noise drawn for the global batch and sharded, as `noise` does."""
    shape = (images.shape[0] * t.dist.world, *images.shape[1:])
    eps = torch.randn(shape, device=images.device, dtype=images.dtype)
    return images + sigma * t.dist.shard(eps)


def reduce_errors(t, *losses: torch.Tensor) -> list[float]:
    """The losses as floats, averaged over the ranks (every rank then takes the same decisions)."""
    return t.dist.mean_floats(torch.stack([loss.detach().float() for loss in losses]))


def sync_grads(t, name: str) -> None:
    t.dist.all_reduce_grads(t.nets[name])


class NonFiniteLoss(RuntimeError):
    def __init__(self, names: list[str], values: dict[str, float]):
        self.names = names
        self.values = values
        super().__init__(f"non-finite loss ({', '.join(f'{n}={values[n]}' for n in names)}); update not applied")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    # D's Sigmoid is folded into the loss: BCE(sigmoid(l), y) computed stably.
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits, target, dtype=torch.float32))


def _check_finite(**values: float) -> None:
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise NonFiniteLoss(bad, values)


def _apply_l2(net: torch.nn.Module, coef: float) -> None:
    """Gradient of coef·‖θ‖²/2 added in place (the 2015 blog's coefL2 on D)."""
    if coef > 0:
        params = [p for p in net.parameters() if p.grad is not None]
        torch._foreach_add_([p.grad for p in params], params, alpha=coef)


def gan_step(t: StepParts, x: torch.Tensor, sigma: float = 0.0) -> StepStats:
    """DCGAN and the 2015 GAN; every image D sees carries instance noise of σ `sigma` (0: none)."""
    cfg = t.cfg.train
    G, D = t.nets["G"], t.nets["D"]
    opt_g, opt_d = t.optims["G"], t.optims["D"]
    autocast = t.autocast or nullcontext
    n = x.shape[0]
    x_real = x[: n // 2] if cfg.half_batch_d else x
    n_fake = x_real.shape[0]

    z = t.noise(n_fake)
    seen = (lambda images: add_instance_noise(t, images, sigma)) if sigma > 0 else (lambda images: images)
    with autocast():
        fake = G(z)
        loss_real = _bce(D(seen(x_real)), 1.0)
        loss_fake = _bce(D(seen(fake.detach())), 0.0)
    opt_d.zero_grad(set_to_none=True)
    (loss_real + loss_fake).backward()
    real, fake_err = t.reduce_errors(loss_real, loss_fake)
    _check_finite(real=real, fake=fake_err)
    update_d, update_g = t.balance.decide(real, fake_err)
    if update_d:
        t.sync_grads("D")
        _apply_l2(D, t.l2.coef)
        opt_d.step()

    # G: the 2015 code draws a fresh full batch of z; the DCGAN example reuses this step's fakes.
    D.requires_grad_(False)
    try:
        with autocast():
            fake_g = G(t.noise(n)) if cfg.half_batch_d else fake
            loss_gen = _bce(D(seen(fake_g)), 1.0)
        opt_g.zero_grad(set_to_none=True)
        loss_gen.backward()
    finally:
        D.requires_grad_(True)
    (gen,) = t.reduce_errors(loss_gen)
    _check_finite(gen=gen)
    if update_g:
        t.sync_grads("G")
        opt_g.step()
    t.l2.update(gen)
    return StepStats(real=real, fake=fake_err, gen=gen, d_updated=update_d, g_updated=update_g)


def _add_scaled(a: torch.Tensor | None, b: torch.Tensor | None, scale: float) -> torch.Tensor | None:
    """a + scale·b, where None stands for a zero gradient."""
    if b is None:
        return a
    return b * scale if a is None else a.add(b, alpha=scale)


def vaegan_step(t: StepParts, x: torch.Tensor) -> StepStats:
    """Larsen et al. (2016): E ← prior + feature reconstruction; Dec ← γ·reconstruction + GAN; D ← GAN."""
    cfg = t.cfg.train
    E, G, D = t.nets["E"], t.nets["G"], t.nets["D"]
    autocast = t.autocast or nullcontext
    n = x.shape[0]
    with autocast():
        mu, logvar = E(x)
        mu, logvar = mu.float(), logvar.float()
        z = mu + torch.exp(0.5 * logvar) * t.noise(n)
        x_rec = G(z)
        x_p = G(t.noise(n))
        logits_real, feat_real = D.forward_features(x, cfg.vae_feature_layer)
        logits_rec, feat_rec = D.forward_features(x_rec, cfg.vae_feature_layer)
        logits_p = D(x_p)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
    # Gaussian NLL with σ = 1 in D's feature space: ½·squared error summed over features.
    llike = 0.5 * (feat_rec.float() - feat_real.float().detach()).pow(2).sum() / n
    if cfg.vae_pixel_weight > 0:
        # The feature metric leaves high frequencies unconstrained (speckle); a pixel-space Gaussian
        # NLL beside it pins them. It is part of the reconstruction term, so it goes where llike goes.
        llike = llike + cfg.vae_pixel_weight * 0.5 * (x_rec.float() - x.float()).pow(2).sum() / n
    loss_real = _bce(logits_real, 1.0)
    loss_fake = _bce(logits_p, 0.0)
    loss_gen = _bce(logits_p, 1.0)
    if cfg.vae_d_sees_recon:
        loss_fake = 0.5 * (loss_fake + _bce(logits_rec, 0.0))
        loss_gen = 0.5 * (loss_gen + _bce(logits_rec, 1.0))
    real, fake_err, gen, kl_v, llike_v = t.reduce_errors(loss_real, loss_fake, loss_gen, kl, llike)
    _check_finite(real=real, fake=fake_err, gen=gen, kl=kl_v, llike=llike_v)
    update_d, update_g = t.balance.decide(real, fake_err)

    # Each net takes the gradient of its own objective only (no GAN gradient reaches E; llike never
    # updates D), so the gradients are taken separately from one shared graph. The encoder's pass
    # also yields ∇_Dec llike (KL does not involve the decoder): the decoder's γ·llike term then
    # costs no second backward through D and Dec (about a quarter of the step on a CPU). A net
    # the balance skips gets no gradient computed at all.
    e_params = [p for p in E.parameters()]
    g_params = [p for p in G.parameters()]
    d_params = [p for p in D.parameters()]
    with_g_llike = update_g and cfg.vae_gamma != 0
    # β·KL (β = vae_kl_weight, 1 in the paper): a larger β pulls the codes' spread towards the
    # prior's, so decoded N(0, I) samples land where the decoder was trained.
    grads = torch.autograd.grad(cfg.vae_kl_weight * kl + llike, e_params + (g_params if with_g_llike else []), retain_graph=True,
                                allow_unused=True)
    grads_e, g_llike = grads[:len(e_params)], grads[len(e_params):]
    grads_g = grads_d = None
    if update_g:
        grads_g = torch.autograd.grad(loss_gen, g_params, retain_graph=update_d, allow_unused=True)
        if with_g_llike:
            grads_g = [_add_scaled(gan, rec, cfg.vae_gamma) for gan, rec in zip(grads_g, g_llike)]
    if update_d:
        grads_d = torch.autograd.grad(loss_real + loss_fake, d_params, allow_unused=True)
    for params, grads, name, apply in ((e_params, grads_e, "E", True), (g_params, grads_g, "G", update_g),
                                       (d_params, grads_d, "D", update_d)):
        opt = t.optims[name]
        opt.zero_grad(set_to_none=True)
        if not apply:
            continue
        for p, g in zip(params, grads):
            p.grad = g
        t.sync_grads(name)
        if name == "D":
            _apply_l2(D, t.l2.coef)
        opt.step()
    t.l2.update(gen)
    return StepStats(real=real, fake=fake_err, gen=gen, d_updated=update_d, g_updated=update_g, kl=kl_v,
                     llike=llike_v)

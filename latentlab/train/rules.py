"""The balancing rules of the 2015 face GAN and the VAE/GAN, each a small object with its own saved state.

docs/algorithms.md §2 (margin rule, adaptive L2, RMSProp warm-up and decay) and §3 (VAE/GAN equilibrium).
Every rule exposes `state_dict()` / `load_state_dict()` so a checkpoint restores it exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


def band_decision(real: float, fake: float, low: float, high: float) -> tuple[bool, bool]:
    """(update D, update G) for D's errors against a band: D is too good when either error is below
    `low` (skip D), too bad when either is above `high` (skip G); when both would be skipped, both
    update. The 2015 margin rule is the band (margin, 1 − margin), the VAE/GAN's equilibrium rule
    the band equilibrium ± margin."""
    update_d = not (real < low or fake < low)
    update_g = not (real > high or fake > high)
    if not update_d and not update_g:
        return True, True
    return update_d, update_g


@dataclass
class MarginRule:
    """Larsen & Sønderby (2015): skip D when it is too good, skip G when D is too bad.

    Decided from this step's `real` and `fake` errors, before either update. A margin of 0 turns the
    rule off (with margin 0 the G test `fake > 1` would otherwise fire on ordinary errors above 1).
    """

    margin: float = 0.3

    def decide(self, real: float, fake: float) -> tuple[bool, bool]:
        if self.margin <= 0:
            return True, True
        return band_decision(real, fake, self.margin, 1.0 - self.margin)

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        self.margin = float(state["margin"])


@dataclass
class EquilibriumRule:
    """Larsen et al. (2016) VAE/GAN balancing: keep D's errors near `equilibrium` ± `margin`.

    Skip D if its real or fake error is below equilibrium − margin (D too good); skip the decoder if
    either is above equilibrium + margin (D too bad); if both would be skipped, update both.
    """

    equilibrium: float = 0.68
    margin: float = 0.35

    def decide(self, real: float, fake: float) -> tuple[bool, bool]:
        return band_decision(real, fake, self.equilibrium - self.margin, self.equilibrium + self.margin)

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        self.equilibrium = float(state["equilibrium"])
        self.margin = float(state["margin"])


@dataclass
class AdaptiveL2:
    """The 2015 blog's adaptive L2 on D, driven by the generator's error `gen`.

    After each step: gen above the band raises D's L2 coefficient by `step`, gen below lowers it,
    clamped at 0. The penalty is coef·‖θ_D‖²/2 on D's loss (its gradient is coef·θ_D).
    """

    enabled: bool = False
    coef: float = 0.0
    band_low: float = 0.9
    band_high: float = 1.3
    step: float = 1e-5

    def update(self, gen: float) -> float:
        if not self.enabled:
            return self.coef
        if gen > self.band_high:
            self.coef += self.step
        if gen < self.band_low:
            self.coef -= self.step
        if self.coef < 0:
            self.coef = 0.0
        return self.coef

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, type(getattr(self, key))(value))


@dataclass
class LRSchedule:
    """Learning rate per step: optional 2015 warm-up times a per-epoch exponential decay.

    Warm-up (torch-gan): lr/50 for the first 10 updates, lr/5 until update 30, counted in steps
    (skipped steps count too). Decay: lr = max(base·decay^epoch, lr_min).
    """

    base: float
    warmup: bool = False
    decay: float = 1.0
    lr_min: float = 1e-6

    def lr(self, step: int, epoch: int) -> float:
        """`step` counts from 0 (the step about to run)."""
        lr = self.base
        if self.decay != 1.0:
            lr = max(self.base * self.decay**epoch, self.lr_min)
        if self.warmup:
            if step < 10:
                lr /= 50.0
            elif step < 30:
                lr /= 5.0
        return lr

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        self.base = float(state["base"])
        self.warmup = bool(state["warmup"])
        self.decay = float(state["decay"])
        self.lr_min = float(state["lr_min"])

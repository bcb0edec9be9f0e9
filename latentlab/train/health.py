"""Training health checks: the engine asks every `train.health_every` steps (0: at each sample grid).

Each check sees the generator's fixed-noise samples (eval mode) and the recent StepStats, and returns
the alerts that STARTED at this check; a condition alerts once and stays active (no repeat) until it
clears. Alerts say what they mean and what to try; `rollback=True` marks the serious ones after which
the engine (with `train.rollback`) returns to the last healthy checkpoint.

Detectors and thresholds (measured on the synthetic faces at 32 px, random-conv feature space of
latentlab.metrics.features; a "ratio" is the mean pairwise feature distance of the 64 samples divided
by the same for a fixed subset of the training images):
- real images against real images: ratio 0.96-1.08 (64-image subsets); healthy tiny runs once they
  show faces: 0.4-1.3; collapsed runs (every sample the same face): 0.000-0.07.
- collapse (rollback): ratio < COLLAPSE_RATIO (0.2) at CONFIRM (2) consecutive checks, once the
  detector is armed. A freshly initialised DCGAN in eval mode draws nearly the same image for every
  z (ratio ~1e-4), so the detector arms only once the ratio has reached ARM_RATIO (0.4, twice the
  line; small test models pass it after 50-150 steps): it reports a FALL of diversity. It clears
  above CLEAR_RATIO (0.3), so a run near the line does not flicker.
  Delay: the alert comes at the CONFIRM-th check below the line, i.e. (CONFIRM - 1) x health_every
  steps after the first check that sees the collapse, at most CONFIRM x health_every steps after
  the samples fall below the line. Measured (tests/train/test_health.py, health_every 10): a too-strong
  D (lr_d 0.02, lr_g 0.1) collapses at step 60, alert at 70; G outrunning a stalled D falls below the
  line at step 90, alert and rollback at 100.
  The engine passes the samples of G's own weights, not the EMA's, which trail by ~1/(1-ema) steps.
- duplicates (rollback): more than DUP_FRACTION (20%) of sample pairs closer than DUP_DISTANCE (0.1)
  x the data's mean distance, at CONFIRM consecutive checks, once armed. The closest pair among 500
  synthetic faces is 0.17 x; healthy runs stay below 5% of pairs; 64 samples on 4 modes give 24%.
  It catches partial collapse, where a few distinct faces keep the mean distance high.
- saturation (rollback): over the last WINDOW steps (at least MIN_WINDOW seen), at least
  WINDOW_FRACTION (80%) of steps have real and fake < SAT_ERROR (0.1) while gen > SAT_GEN (4):
  D rejects everything and G's gradient no longer says where real faces are (the CelebA DCGAN of "Face Generator with GANs": D loss
  0.000, G loss 64). Healthy runs have real and fake near 0.2-0.8.
- gen_band (advice only): gen > GEN_HIGH (3) or gen < GEN_LOW (0.05) on WINDOW_FRACTION of the
  window. Healthy runs keep gen within 0.7-2.5; a stalled D (lr_d too low) drives gen to 0.01.
- nan_samples (rollback): the samples hold NaN or Inf (the losses are checked by the engine itself).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

ARM_RATIO = 0.4
COLLAPSE_RATIO = 0.2
CLEAR_RATIO = 0.3
DUP_DISTANCE = 0.1
DUP_FRACTION = 0.2
DUP_CLEAR = 0.1
CONFIRM = 2
WINDOW = 100
MIN_WINDOW = 50
WINDOW_FRACTION = 0.8
CLEAR_FRACTION = 0.5
SAT_ERROR = 0.1
SAT_GEN = 4.0
GEN_HIGH = 3.0
GEN_LOW = 0.05
REFERENCE_IMAGES = 256


@dataclass
class HealthAlert:
    kind: str  # collapse | duplicates | saturation | gen_band | nan_samples
    message: str
    advice: str = ""
    rollback: bool = False  # serious enough to return to the last healthy checkpoint
    data: dict = field(default_factory=dict)


SERIOUS = {"collapse", "duplicates", "saturation", "nan_samples"}


class HealthMonitor:
    """Stateful detectors; `check` returns the alerts that started at this check.

    State (JSON, saved in checkpoints) holds the arming, the pending confirmations, the active
    conditions and the recent errors, so a resumed run raises the same alerts at the same steps.
    """

    def __init__(self, cfg, data, *, window: int = WINDOW):
        self.cfg = cfg
        self.window = window
        self.reference_distance = data_reference_distance(data)
        self.reset()

    # -- the engine's interface ---------------------------------------------------------------------
    def check(self, step: int, samples, history: list) -> list[HealthAlert]:
        """samples: float CPU tensor (N,3,H,W) in [-1, 1]; history: the recent StepStats."""
        self._take_history(history)
        found: dict[str, HealthAlert] = {}
        sample_alerts = self._check_samples(samples)
        found.update(sample_alerts)
        found.update(self._check_errors())
        alerts = [a for kind, a in found.items() if kind not in self._active]
        self._active = set(found)
        for a in alerts:
            a.data.setdefault("step", step)
        return alerts

    @property
    def healthy(self) -> bool:
        """Whether a checkpoint written now may become a rollback target: no condition active or
        awaiting confirmation (gen_band included), D not saturating for half of the recent steps, and,
        once armed, samples clearly varied (ratio >= CLEAR_RATIO), so a rollback does not land on
        weights already sliding into collapse."""
        if self._active or any(self._pending.values()):
            return False
        if self._recent and self._saturated_fraction() >= CLEAR_FRACTION:
            return False  # saturating, not yet for a full window: still no state to return to
        return not self.armed or self.last.get("diversity", 1.0) >= CLEAR_RATIO

    def _saturated_fraction(self) -> float:
        recent = self._recent
        return sum(1 for _, real, fake, gen in recent if real < SAT_ERROR and fake < SAT_ERROR and gen > SAT_GEN) / len(recent)

    def reset(self) -> None:
        """After a rollback: forget the errors and conditions of the abandoned branch. The arming
        stays: the restored weights were healthy ones."""
        self._active: set[str] = set()
        self._pending: dict[str, int] = {"collapse": 0, "duplicates": 0}
        self._recent: deque[tuple[int, float, float, float]] = deque(maxlen=self.window)
        if not hasattr(self, "armed"):
            self.armed = False
        self.last: dict[str, float] = {}

    def state_dict(self) -> dict:
        return {"active": sorted(self._active), "pending": dict(self._pending), "armed": self.armed,
                "recent": [list(r) for r in self._recent], "last": dict(self.last)}

    def load_state_dict(self, state: dict) -> None:
        self._active = set(state.get("active", []))
        self._pending = {"collapse": 0, "duplicates": 0, **state.get("pending", {})}
        self.armed = bool(state.get("armed", False))
        self._recent = deque((tuple(r) for r in state.get("recent", [])), maxlen=self.window)
        self.last = dict(state.get("last", {}))

    # -- detectors ----------------------------------------------------------------------------------
    def _take_history(self, history: list) -> None:
        newest = self._recent[-1][0] if self._recent else -1
        for s in history[-self.window:]:
            if s.step > newest:
                self._recent.append((int(s.step), float(s.real), float(s.fake), float(s.gen)))

    def _check_samples(self, samples) -> dict[str, HealthAlert]:
        import torch

        from latentlab.metrics.features import close_pair_fraction, embed, mean_pairwise_distance

        found = {}
        samples = samples.detach().float().cpu()
        if not torch.isfinite(samples).all():
            found["nan_samples"] = HealthAlert(
                "nan_samples", "The generator's samples contain NaN or Inf values.",
                "The weights have diverged: roll back and lower the learning rates (or turn off bf16 with "
                "train.amp=off).", rollback=True)
            return found
        if len(samples) < 2 or self.reference_distance <= 0:
            return found
        feats = embed(samples)
        ratio = mean_pairwise_distance(feats) / self.reference_distance
        dup = close_pair_fraction(feats, DUP_DISTANCE * self.reference_distance)
        self.last = {"diversity": ratio, "duplicates": dup}
        if not self.armed:
            self.armed = ratio >= ARM_RATIO
            return found
        low = self._confirmed("collapse", ratio < COLLAPSE_RATIO, ratio > CLEAR_RATIO)
        if low:
            found["collapse"] = HealthAlert(
                "collapse", f"Mode collapse: the samples are {ratio:.0%} as varied as the training images "
                f"(below {COLLAPSE_RATIO:.0%}); the generator draws (nearly) the same face for every z.",
                "G found one output that fools D and stopped covering the data. Roll back to the last healthy "
                "checkpoint with lower learning rates; if it recurs, slow G (lower lr_g), strengthen D's "
                "balance (margin rule, train.margin=0.3) or use more data.",
                rollback=True, data={"diversity": round(ratio, 4), "duplicates": round(dup, 4)})
        many = self._confirmed("duplicates", dup > DUP_FRACTION, dup < DUP_CLEAR)
        if many and not low:
            found["duplicates"] = HealthAlert(
                "duplicates", f"Partial collapse: {dup:.0%} of sample pairs are near-duplicates (real images: "
                "none); the generator covers only a few distinct faces.",
                "The first sign of mode collapse. Roll back with lower learning rates, or lower lr_g relative "
                "to lr_d; more (and more varied) data also helps.",
                rollback=True, data={"diversity": round(ratio, 4), "duplicates": round(dup, 4)})
        return found

    def _confirmed(self, kind: str, bad: bool, clear: bool) -> bool:
        """True while `kind` is confirmed: bad at CONFIRM consecutive checks, and (once active) until clear."""
        if kind in self._active:
            if not clear:
                return True
            self._pending[kind] = 0
            return False
        self._pending[kind] = self._pending[kind] + 1 if bad else 0
        if self._pending[kind] >= CONFIRM:
            self._pending[kind] = 0
            return True
        return False

    def _check_errors(self) -> dict[str, HealthAlert]:
        found = {}
        recent = list(self._recent)
        if len(recent) < min(MIN_WINDOW, self.window):
            return found
        n = len(recent)
        gens = sorted(r[3] for r in recent)
        median_gen = gens[n // 2]
        saturated = self._saturated_fraction()
        limit = CLEAR_FRACTION if "saturation" in self._active else WINDOW_FRACTION
        if saturated >= limit:
            real = sum(r[1] for r in recent) / n
            fake = sum(r[2] for r in recent) / n
            found["saturation"] = HealthAlert(
                "saturation", f"D saturated: over the last {n} steps real {real:.3f} and fake {fake:.3f} stayed "
                f"near 0 while gen is {median_gen:.1f} (median).",
                "D wins every game and G gets no useful gradient; this ends in every sample looking the same. "
                "Roll back, then lower lr_d, raise the margin rule (train.margin=0.3), or add adaptive L2 on D.",
                rollback=True, data={"real": round(real, 4), "fake": round(fake, 4), "gen": round(median_gen, 3)})
        high = sum(1 for r in recent if r[3] > GEN_HIGH) / n
        low = sum(1 for r in recent if r[3] < GEN_LOW) / n
        limit = CLEAR_FRACTION if "gen_band" in self._active else WINDOW_FRACTION
        if "saturation" not in found and max(high, low) >= limit:
            if high >= low:
                message = (f"gen above {GEN_HIGH:g} for {high:.0%} of the last {n} steps (median {median_gen:.2f}): "
                           "D is winning.")
                advice = ("Left alone this tends towards saturation and collapse: lower lr_d or raise lr_g a little, "
                          "or turn on the margin rule (train.margin=0.3).")
            else:
                message = (f"gen below {GEN_LOW:g} for {low:.0%} of the last {n} steps (median {median_gen:.3f}): "
                           "G fools D every time; D has stopped learning.")
                advice = ("A D that no longer learns lets G collapse onto whatever D currently likes: raise lr_d "
                          "or lower lr_g; check that D's updates are not being skipped by the margin rule.")
            found["gen_band"] = HealthAlert("gen_band", message, advice, rollback=False,
                                            data={"gen": round(median_gen, 4), "high": round(high, 3),
                                                  "low": round(low, 3)})
        return found


def data_reference_distance(data, n: int = REFERENCE_IMAGES) -> float:
    """Mean pairwise feature distance of a fixed subset of the training images (the held-out tail is
    left out); the yardstick of every sample-diversity ratio."""
    from latentlab.metrics.features import embed, mean_pairwise_distance, reference_indices

    count = int(getattr(data, "train_count", len(data.images)))
    if count < 2:
        return 0.0
    idx = reference_indices(count, n)
    value = mean_pairwise_distance(embed(data.images[idx]))
    return value if math.isfinite(value) else 0.0

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

Added for the VAE/GAN, whose decoder collapsed before the first check could arm the detector (issue:
every sample the same square by step 300, first check at step 500, no alert):
- a detector still unarmed at step ARM_STEPS (500) arms anyway: whatever a run draws that late is what
  it draws, and one image for every z then is a failure, not an untrained G.
- a collapse in which at least SEVERE_DUP (half) of the sample pairs are near-duplicates needs no
  confirmation: CONFIRM guards against a ratio flickering about the line, and a grid of one image
  is nowhere near it. It alerts at the first check that sees it.
- low_diversity (advice only): the quality check's diversity (train.quality_every, the same ratio over
  train.quality_n samples, the Metrics tab's line at COLLAPSE_RATIO) below the line once armed. The
  quality check runs on the main rank only, so it neither rolls back nor changes the healthy verdict
  (every rank must agree on both); the samples' collapse detector, on every rank, does.
- off_data (advice only): from ARM_STEPS on, the quality check's precision and recall both below
  OFF_DATA (0.01): no sample near the data and no data near a sample. The probe that collapsed had
  precision 0.000 and recall 0.000 at step 500 with its diversity still 0.49; healthy runs of the
  same length had precision 0.12-0.74.
- recon_rising (rollback; models with an encoder): the mean absolute error of the held-out images'
  reconstructions rose at RISE_CHECKS (3) consecutive checks, by at least RISE_STEP (2%) each, and
  stands RISE_TOTAL (15%) above its lowest. A learning VAE/GAN's error falls or holds; the collapsed
  run's rose from about 20 to 63 grey levels.
- d_held / g_held (advice only): the balancing rule (margin or equilibrium) skipped that net's update
  on WINDOW_FRACTION (80%) of the window. Larsen & Sønderby's 2015 post calls a frozen D the first
  sign of trouble: G then trains against a fixed critic and settles on whatever it likes best (the
  collapsed VAE/GAN's D was updated on 6% of its steps after step 1000).
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
ARM_STEPS = 500
SEVERE_DUP = 0.5
RISE_CHECKS = 3
RISE_STEP = 0.02
RISE_TOTAL = 0.15
HELD_FRACTION = 0.8
RECON_IMAGES = 64
OFF_DATA = 0.01
OFF_DATA_CLEAR = 0.05


@dataclass
class HealthAlert:
    kind: str  # collapse | duplicates | saturation | gen_band | nan_samples | low_diversity | off_data | recon_rising | d_held | g_held
    message: str
    advice: str = ""
    rollback: bool = False  # serious enough to return to the last healthy checkpoint
    data: dict = field(default_factory=dict)


SERIOUS = {"collapse", "duplicates", "saturation", "nan_samples", "recon_rising"}
QUALITY_KINDS = {"low_diversity", "off_data"}  # from the quality check (main rank only): advice only


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
    def check(self, step: int, samples, history: list, recon_error: float | None = None) -> list[HealthAlert]:
        """samples: float CPU tensor (N,3,H,W) in [-1, 1]; history: the recent StepStats;
        recon_error: the held-out reconstruction error now (models with an encoder; see recon_error)."""
        self._take_history(history)
        if not self.armed and step >= ARM_STEPS:
            self.armed, self._armed_late = True, True
        found: dict[str, HealthAlert] = {}
        sample_alerts = self._check_samples(samples)
        found.update(sample_alerts)
        found.update(self._check_errors())
        found.update(self._check_held())
        if recon_error is not None:
            found.update(self._check_recon(recon_error))
        for kind in QUALITY_KINDS & self._active:  # set and cleared by the quality checks (check_quality)
            found[kind] = self._quality_alerts.get(kind) or HealthAlert(kind, "")
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
        if (self._active - QUALITY_KINDS) or any(self._pending.values()):
            return False
        if self._recent and self._saturated_fraction() >= CLEAR_FRACTION:
            return False  # saturating, not yet for a full window: still no state to return to
        return not self.armed or self.last.get("diversity", 1.0) >= CLEAR_RATIO

    def check_quality(self, step: int, values: dict) -> list[HealthAlert]:
        """The quality check's figures (precision, recall, diversity: latentlab.metrics.tracking) at
        `step`: low_diversity when the diversity is below the line once the detector is armed,
        off_data when precision and recall are both near 0 from ARM_STEPS on."""
        if not self.armed and step >= ARM_STEPS:
            self.armed, self._armed_late = True, True
        found: dict[str, HealthAlert] = {}
        diversity = values.get("diversity")
        if self.armed and diversity is not None and math.isfinite(diversity):
            limit = CLEAR_RATIO if "low_diversity" in self._active else COLLAPSE_RATIO
            if diversity < limit:
                found["low_diversity"] = HealthAlert(
                    "low_diversity", f"Low diversity: the quality check's {values.get('n', '')} samples are "
                    f"{diversity:.0%} as varied as the training images, below the line at {COLLAPSE_RATIO:.0%}.",
                    "The generator covers few faces (mode collapse). Roll back to the last healthy checkpoint; for "
                    "a VAE/GAN give the decoder more of the reconstruction (a larger train.vae_gamma), otherwise "
                    "lower lr_g.", data={"diversity": round(float(diversity), 4)})
        p, r = values.get("precision"), values.get("recall")
        if step >= ARM_STEPS and p is not None and r is not None and math.isfinite(p) and math.isfinite(r):
            limit = OFF_DATA_CLEAR if "off_data" in self._active else OFF_DATA
            if max(p, r) < limit:
                found["off_data"] = HealthAlert(
                    "off_data", f"Samples unlike the data: precision {p:.2f} and recall {r:.2f} at the quality "
                    "check; no sample lies among the training images' nearest neighbours, nor they among the samples'.",
                    "The generator has left the data (the start of a collapse, or no learning at all). Roll back to "
                    "the last healthy checkpoint; for a VAE/GAN give the decoder more of the reconstruction "
                    "(train.vae_gamma), otherwise lower the learning rates.",
                    data={"precision": round(float(p), 4), "recall": round(float(r), 4)})
        new = [a for kind, a in found.items() if kind not in self._active]
        for a in new:
            a.data.setdefault("step", step)
        self._active = (self._active - QUALITY_KINDS) | set(found)
        self._quality_alerts = {**{k: v for k, v in self._quality_alerts.items() if k in found}, **{a.kind: a for a in new}}
        return new

    def _saturated_fraction(self) -> float:
        recent = self._recent
        return sum(1 for _, real, fake, gen, *_ in recent if real < SAT_ERROR and fake < SAT_ERROR and gen > SAT_GEN) / len(recent)

    def reset(self) -> None:
        """After a rollback: forget the errors and conditions of the abandoned branch. The arming
        stays: the restored weights were healthy ones."""
        self._active: set[str] = set()
        self._pending: dict[str, int] = {"collapse": 0, "duplicates": 0}
        # (step, real, fake, gen, D updated, G updated) of the recent steps
        self._recent: deque[tuple[int, float, float, float, bool, bool]] = deque(maxlen=self.window)
        if not hasattr(self, "armed"):
            self.armed, self._armed_late = False, False
        self.last: dict[str, float] = {}
        self._recon: list[float] = []  # the held-out reconstruction error at each check
        self._quality_alerts: dict[str, HealthAlert] = {}

    def state_dict(self) -> dict:
        return {"active": sorted(self._active), "pending": dict(self._pending), "armed": self.armed,
                "armed_late": self._armed_late, "recent": [list(r) for r in self._recent], "last": dict(self.last),
                "recon": list(self._recon)}

    def load_state_dict(self, state: dict) -> None:
        self._active = set(state.get("active", []))
        self._pending = {"collapse": 0, "duplicates": 0, **state.get("pending", {})}
        self.armed = bool(state.get("armed", False))
        self._armed_late = bool(state.get("armed_late", False))
        # rows saved before the update flags were kept count as updated
        rows = ([*r, True, True][:6] for r in state.get("recent", []))  # older rows lack the update flags
        self._recent = deque(((int(r[0]), float(r[1]), float(r[2]), float(r[3]), bool(r[4]), bool(r[5]))
                              for r in rows), maxlen=self.window)
        self.last = dict(state.get("last", {}))
        self._recon = [float(v) for v in state.get("recon", [])]

    # -- detectors ----------------------------------------------------------------------------------
    def _take_history(self, history: list) -> None:
        newest = self._recent[-1][0] if self._recent else -1
        for s in history[-self.window:]:
            if s.step > newest:
                self._recent.append((int(s.step), float(s.real), float(s.fake), float(s.gen),
                                     bool(getattr(s, "d_updated", True)), bool(getattr(s, "g_updated", True))))

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
        if ratio < COLLAPSE_RATIO and dup >= SEVERE_DUP and "collapse" not in self._active:
            self._pending["collapse"] = CONFIRM - 1  # unmistakable: this check confirms it
        low = self._confirmed("collapse", ratio < COLLAPSE_RATIO, ratio > CLEAR_RATIO)
        if low:
            never = " (its samples were never varied)" if self._armed_late else ""
            found["collapse"] = HealthAlert(
                "collapse", f"Mode collapse: the samples are {ratio:.0%} as varied as the training images "
                f"(below {COLLAPSE_RATIO:.0%}) and {dup:.0%} of their pairs are near-duplicates; the generator "
                f"draws (nearly) the same face for every z{never}.",
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

    def _check_held(self) -> dict[str, HealthAlert]:
        found = {}
        recent = list(self._recent)
        if len(recent) < min(MIN_WINDOW, self.window):
            return found
        for net, column in (("D", 4), ("G", 5)):
            kind = f"{net.lower()}_held"
            held = sum(1 for r in recent if not r[column]) / len(recent)
            if held >= (CLEAR_FRACTION if kind in self._active else HELD_FRACTION):
                other = "G trains against a critic that no longer learns and settles on whatever it likes best" \
                    if net == "D" else "D pulls ahead while G waits"
                found[kind] = HealthAlert(
                    kind, f"{net} held back: the balancing rule skipped {net}'s update on {held:.0%} of the last "
                    f"{len(recent)} steps.",
                    f"A frozen {net} is the first sign of trouble (Larsen & Sønderby's 2015 post): {other}. Watch "
                    "the samples; if they lose variety, roll back and change the rule's band (train.margin, or "
                    "train.vae_equilibrium and vae_margin) or the learning rates.",
                    rollback=False, data={"net": net, "held": round(held, 3)})
        return found

    def _check_recon(self, error: float) -> dict[str, HealthAlert]:
        if not math.isfinite(error):
            return {}
        self._recon.append(float(error))
        self._recon = self._recon[-64:]
        found = {}
        tail = self._recon[-(RISE_CHECKS + 1):]
        rising = len(tail) == RISE_CHECKS + 1 and all(b >= a * (1 + RISE_STEP) for a, b in zip(tail, tail[1:]))
        best = min(self._recon)
        high = error >= best * (1 + RISE_TOTAL)
        if (rising and high) or ("recon_rising" in self._active and high):
            found["recon_rising"] = HealthAlert(
                "recon_rising", f"Reconstructions getting worse: the held-out images' mean absolute error rose at "
                f"{RISE_CHECKS} checks in a row, to {error * 255:.1f} grey levels (lowest {best * 255:.1f}).",
                "The decoder is drifting away from the data (often the start of a collapse). Roll back to the last "
                "healthy checkpoint; give the decoder more of the reconstruction (a larger train.vae_gamma) or lower "
                "the learning rates.",
                rollback=True, data={"recon_mae": round(error, 5), "best": round(best, 5)})
        return found


def recon_error(E, G, x) -> float:
    """Mean absolute error, as a fraction of the [0, 1] range, of Dec(mu(x)) against x (float in [-1, 1]),
    both nets in eval mode, as the reconstruction grid and devtools/bench/recon.py measure it."""
    import torch

    modes = (E.training, G.training)
    E.eval(), G.eval()
    try:
        with torch.no_grad():
            rec = G(E(x)[0]).float()
    finally:
        E.train(modes[0]), G.train(modes[1])
    return float((rec - x.float()).abs().mean()) / 2


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

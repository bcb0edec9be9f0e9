"""Training health checks: the engine asks every `health_every` steps; alerts say what they mean
and what to try. Detectors see the fixed-noise samples and the recent StepStats history."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class HealthAlert:
    kind: str  # collapse | saturation | gen_band | ...
    message: str
    advice: str = ""
    rollback: bool = False  # serious enough to return to the last healthy checkpoint
    data: dict = field(default_factory=dict)


class HealthMonitor:
    """Stateful detectors; `check` returns the alerts that started at this check."""

    def __init__(self, cfg, data, *, window: int = 100):
        self.cfg = cfg
        self.window = window
        self._active: set[str] = set()

    def check(self, step: int, samples: torch.Tensor, history: list) -> list[HealthAlert]:
        alerts = []
        recent = history[-self.window:]
        found: dict[str, HealthAlert] = {}
        if len(recent) >= min(self.window, 20):
            real = sum(s.real for s in recent) / len(recent)
            fake = sum(s.fake for s in recent) / len(recent)
            gen = sum(s.gen for s in recent) / len(recent)
            if real < 0.05 and fake < 0.05 and gen > 4.0:
                found["saturation"] = HealthAlert(
                    "saturation", f"D saturated: real {real:.3f} and fake {fake:.3f} near 0 while gen is {gen:.2f}.",
                    "D wins every game and G gets no useful gradient; lower lr_d, raise the margin, or roll back.",
                    rollback=True, data={"real": real, "fake": fake, "gen": gen})
        for kind, alert in found.items():
            if kind not in self._active:
                alerts.append(alert)
        self._active = set(found)
        return alerts

    def reset(self) -> None:
        self._active.clear()

    def state_dict(self) -> dict:
        return {"active": sorted(self._active)}

    def load_state_dict(self, state: dict) -> None:
        self._active = set(state.get("active", []))

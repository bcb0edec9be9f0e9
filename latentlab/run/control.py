"""What the engine yields (StepStats, Event) and how a driver steers it (Control).

Plain data only: floats, bools, strings and paths, so a Qt worker can pass them across threads.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

LIVE_SETTINGS = ("margin", "l2_band_low", "l2_band_high", "lr_d", "lr_g")


@dataclass
class StepStats:
    """One training step. A step function fills the losses and decisions; the engine the rest."""

    step: int = 0  # steps completed, counting this one (the first step is 1)
    epoch: int = 0
    time: float = 0.0  # seconds since the run started, paused time excluded
    real: float = 0.0
    fake: float = 0.0
    gen: float = 0.0
    d_updated: bool = True
    g_updated: bool = True
    l2_d: float = 0.0
    lr_d: float = 0.0
    lr_g: float = 0.0
    img_per_s: float = 0.0
    kl: float | None = None
    llike: float | None = None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        if self.kl is None:
            row.pop("kl")
            row.pop("llike")
        return row


@dataclass
class Event:
    kind: str  # sample | recon | checkpoint | alert | error | info | setting | done | weights
    step: int
    message: str
    path: str | None = None
    data: dict = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        row = {"kind": self.kind, "step": self.step, "message": self.message}
        if self.path is not None:
            row["path"] = self.path
        if self.data:
            row["data"] = self.data
        return row


WEIGHTS = "weights"  # an Event kind never logged: the sampling generator's weights, asked for by request_weights


class Control:
    """Thread-safe commands for a running Trainer: pause, resume, single step, stop, save, settings,
    and a copy of the generator's current weights (a viewer's; answered even while paused)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._paused = False
        self._stopped = False
        self._steps_allowed = 0
        self._save = False
        self._weights = False
        self._settings: dict[str, float] = {}

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._cv:
            self._paused = True
            self._cv.notify_all()

    def resume(self) -> None:
        with self._cv:
            self._paused = False
            self._steps_allowed = 0
            self._cv.notify_all()

    def step_once(self) -> None:
        """Run exactly one more step, then stay paused."""
        with self._cv:
            self._paused = True
            self._steps_allowed += 1
            self._cv.notify_all()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    def save_now(self) -> None:
        with self._cv:
            self._save = True
            self._cv.notify_all()

    def request_weights(self) -> None:
        """Have the engine yield, between two steps, an Event of kind WEIGHTS whose data holds CPU
        copies of the sampling generator's (and encoder's) state: {"step", "model", "data", "states"}."""
        with self._cv:
            self._weights = True
            self._cv.notify_all()

    def set(self, key: str, value: float) -> None:
        if key not in LIVE_SETTINGS:
            raise KeyError(f"{key!r} cannot change while training; live settings: {', '.join(LIVE_SETTINGS)}")
        with self._cv:
            self._settings[key] = float(value)
            self._cv.notify_all()

    # -- the engine's side ----------------------------------------------------------------------
    def next_action(self, timeout: float = 0.1) -> str:
        """"step" (run one step), "idle" (paused: waited up to `timeout`) or "stop"."""
        with self._cv:
            if not self._stopped and self._paused and self._steps_allowed == 0 and not self._save \
                    and not self._weights:
                self._cv.wait(timeout)
            if self._stopped:
                return "stop"
            if not self._paused:
                return "step"
            if self._steps_allowed > 0:
                self._steps_allowed -= 1
                return "step"
            return "idle"

    def take_save(self) -> bool:
        with self._cv:
            save, self._save = self._save, False
            return save

    def take_weights_request(self) -> bool:
        with self._cv:
            wanted, self._weights = self._weights, False
            return wanted

    def take_settings(self) -> dict[str, float]:
        with self._cv:
            out, self._settings = self._settings, {}
            return out

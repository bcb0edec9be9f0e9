"""Exploring the generator being trained: its weights every N steps, and on demand.

Two ways in, the first preferred:
- `LiveGeneratorFeed.offer(trainer)`, called by the training worker on its own thread after each item
  the engine yields. Every N steps (or when asked) it copies the sampling generator (EMA where there
  is one) and the encoder to CPU tensors there, between steps, so the copy never races an optimizer
  step, and hands them over with `generator_offered`. A TrainWorker takes part by having a
  `live_feed` attribute (None by default) and calling `if self.live_feed: self.live_feed.offer(trainer)`.
- Without that hook, or while training is paused (the engine yields nothing then), the newest
  checkpoint is used: the panel's `checkpoint_written`, Control.save_now() for "refresh now", and for a
  run attached from disk a poll of checkpoints/latest.safetensors.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from latentlab.run.layout import RunLayout

DEFAULT_EVERY = 50
ATTACHED_POLL_MS = 2000


class LiveGeneratorFeed(QObject):
    generator_offered = Signal(object)  # {"step", "model", "data", "states": {"G": {...}, "E": {...}}}

    def __init__(self, every: int = DEFAULT_EVERY, parent=None):
        super().__init__(parent)
        self.every = every
        self.enabled = False
        self.offers = 0
        self._wanted = threading.Event()
        self._last_step: int | None = None

    def request(self) -> None:
        """Offer the weights at the next opportunity, whatever the step."""
        self._wanted.set()

    def restart(self) -> None:
        self._last_step = None

    def offer(self, trainer) -> None:
        """Called on the training thread between steps; cheap unless an offer is due."""
        if not self.enabled or not getattr(trainer, "nets", None):
            return
        step = int(trainer.step)
        due = self._last_step is None or step - self._last_step >= self.every
        if not (due or self._wanted.is_set()):
            return
        self._wanted.clear()
        self._last_step = step
        states = {"G": _cpu_state(trainer.generator_for_sampling())}
        if "E" in trainer.nets:
            states["E"] = _cpu_state(trainer.nets["E"])
        self.offers += 1
        self.generator_offered.emit({"step": step, "model": trainer.cfg.model, "data": trainer.cfg.data,
                                     "states": states})


def _cpu_state(net) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}


class FollowTrainingWidget(QWidget):
    """Follow training [x] · every [50] steps · Refresh now · what was last loaded."""

    follow_changed = Signal(bool)
    refresh_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.check = QCheckBox("Follow training")
        self.check.setToolTip("Explore the generator of the run in the Train panel (EMA weights where there are some)")
        self.check.toggled.connect(self.follow_changed)
        self.every = QSpinBox()
        self.every.setRange(1, 1_000_000)
        self.every.setValue(DEFAULT_EVERY)
        self.every.setPrefix("every ")
        self.every.setSuffix(" steps")
        self.every.setToolTip("How often the live generator is refreshed while training runs")
        self.refresh = QPushButton("Refresh now")
        self.refresh.setToolTip("Fetch the generator's current weights (F5)")
        self.refresh.clicked.connect(self.refresh_requested)
        self.note = QLabel("no training in the Train panel")
        self.note.setObjectName("muted")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)
        layout.addWidget(self.every)
        layout.addWidget(self.refresh)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.set_available(False)

    def set_available(self, available: bool, text: str = "no training in the Train panel") -> None:
        self.check.setEnabled(available)
        self.every.setEnabled(available)
        self.refresh.setEnabled(available and self.check.isChecked())
        self.note.setText(text)

    def following(self) -> bool:
        return self.check.isChecked() and self.check.isEnabled()


class TrainingLink(QObject):
    """Connects the Explore panel to the Train panel: which run is live, when its weights change."""

    fetch_checkpoint = Signal(str)  # a checkpoint of the followed run to take weights from
    availability_changed = Signal(bool, str)

    def __init__(self, feed: LiveGeneratorFeed, parent=None):
        super().__init__(parent)
        self.feed = feed
        self.train_panel = None
        self.following = False
        self.hooked = False  # the training worker calls feed.offer
        self._attached_mtime = 0
        self._last_state = "idle"
        self._poll = QTimer(self, interval=ATTACHED_POLL_MS)
        self._poll.timeout.connect(self._poll_attached)

    def connect_panel(self, train_panel) -> None:
        self.train_panel = train_panel
        train_panel.state_changed.connect(self._state_changed)
        train_panel.checkpoint_written.connect(self._checkpoint_written)
        self._state_changed(getattr(train_panel, "state", "idle"))

    def state(self) -> str:
        return getattr(self.train_panel, "state", "idle") if self.train_panel is not None else "idle"

    def _state_changed(self, state: str) -> None:
        previous, self._last_state = self._last_state, state
        session = getattr(self.train_panel, "session", None)
        if state == "starting" and session is not None:
            self.hooked = hasattr(session.worker, "live_feed")
            if self.hooked:
                session.worker.live_feed = self.feed
            self.feed.restart()
        live = state in ("starting", "training", "paused")
        attached = state == "attached"
        text = {"starting": "training is starting", "training": "training runs in the Train panel",
                "paused": "training is paused", "attached": "following a run attached in the Train panel"}
        self.availability_changed.emit(live or attached, text.get(state, "no training in the Train panel"))
        self._update()
        if state == "idle" and previous in ("starting", "training", "paused", "stopping") and self.following:
            self._fetch_latest()  # the final weights: the feed offers nothing after the last step

    def _fetch_latest(self) -> None:
        run = getattr(self.train_panel, "run_dir", None)
        latest = RunLayout(run).latest if run is not None else None
        if latest is not None and latest.is_file():
            self.fetch_checkpoint.emit(str(latest))

    def set_following(self, following: bool) -> None:
        self.following = following
        self._update()
        if following:
            self.refresh()

    def set_every(self, every: int) -> None:
        self.feed.every = max(1, int(every))

    def _update(self) -> None:
        state = self.state()
        self.feed.enabled = self.following and state in ("starting", "training", "paused")
        if self.following and state == "attached":
            self._attached_mtime = 0
            self._poll.start()
        else:
            self._poll.stop()

    def refresh(self) -> None:
        """Now: from the feed while steps run, else through a checkpoint."""
        state = self.state()
        session = getattr(self.train_panel, "session", None)
        if state == "training" and self.hooked:
            self.feed.request()
        elif state in ("training", "paused") and session is not None:
            session.control.save_now()  # the engine answers with checkpoint_written, even while paused
        elif state == "attached":
            self._attached_mtime = 0
            self._poll_attached()

    def _checkpoint_written(self, path: str) -> None:
        if not self.following:
            return
        if self.hooked and self.feed.offers > 0 and self.state() == "training":
            self.feed.request()  # fresher than the file, and no read of optimizer states
        else:
            self.fetch_checkpoint.emit(path)

    def _poll_attached(self) -> None:
        run = getattr(self.train_panel, "run_dir", None)
        if run is None:
            return
        latest = RunLayout(run).latest
        try:
            mtime = latest.stat().st_mtime_ns
        except OSError:
            return
        if mtime != self._attached_mtime:
            self._attached_mtime = mtime
            self.fetch_checkpoint.emit(str(latest))

    def stop(self) -> None:
        self._poll.stop()
        self.feed.enabled = False


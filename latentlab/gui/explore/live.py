"""Exploring the generator being trained: its weights every N steps, and on demand.

Two ways in, the first preferred:
- While a training runs in the window (TrainingState.live), the Workspace is asked for the weights:
  every N steps of its progress and on "Refresh now". The Train tab forwards the request to its
  session's Control, the engine copies the sampling generator (EMA where there is one) and the encoder
  to CPU tensors between two steps, also while paused, and the answer comes back as
  `Workspace.weights_offered`.
- Otherwise the newest checkpoint: the final one when a training ends, and for a run attached from
  disk a poll of checkpoints/latest.safetensors.
A run that ends while nobody follows it is offered instead ("Explore it" opens its last checkpoint).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from latentlab.gui.state.workspace import RUN, STEP, TRAINING, TrainingState, Workspace
from latentlab.run.layout import RunLayout

DEFAULT_EVERY = 50
ATTACHED_POLL_MS = 2000


class NoteLabel(QLabel):
    """A muted line that gives way in a narrow window: cut with an ellipsis, the whole of it in the
    tooltip, so a long note never widens the window past the screen."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("muted")
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 6, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(80, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        QLabel.setText(self, self.fontMetrics().elidedText(self._full, Qt.ElideRight, max(0, self.width())))


class FollowTrainingWidget(QWidget):
    """Follow training [x] · every [50] steps · Refresh now · what happened · Explore it (a run that ended)."""

    follow_changed = Signal(bool)
    refresh_requested = Signal()
    open_requested = Signal(str)  # the finished run's last checkpoint, to open here

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
        self.note = NoteLabel("no training in the Train panel")
        self.open_finished = QPushButton("Explore it")
        self.open_finished.setToolTip("Open the last checkpoint of the run that just finished in the Train panel")
        self.open_finished.clicked.connect(lambda: self.open_requested.emit(self._finished))
        self._finished = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)
        layout.addWidget(self.every)
        layout.addWidget(self.refresh)
        layout.addWidget(self.note)
        layout.addWidget(self.open_finished)
        layout.addStretch(1)
        self.set_available(False)
        self.offer_finished("")

    def set_available(self, available: bool, text: str = "no training in the Train panel") -> None:
        self.check.setEnabled(available)
        self.every.setEnabled(available)
        self.refresh.setEnabled(available and self.check.isChecked())
        self.note.setText(text)

    def offer_finished(self, checkpoint: str) -> None:
        """A run of the Train panel ended and left this checkpoint ("": nothing to offer)."""
        self._finished = checkpoint
        self.open_finished.setVisible(bool(checkpoint))

    def following(self) -> bool:
        return self.check.isChecked() and self.check.isEnabled()


class TrainingLink(QObject):
    """Connects the Explore panel to the training through the Workspace: which run is live, when its
    weights change."""

    fetch_checkpoint = Signal(str)  # a checkpoint of the followed run to take weights from
    weights_arrived = Signal(object)  # {"step", "model", "data", "states"} of the live generator
    availability_changed = Signal(bool, str)
    finished_offered = Signal(str)  # the last checkpoint of a run that ended here unfollowed ("": none)

    def __init__(self, workspace: Workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.following = False
        self.every = DEFAULT_EVERY
        self.offers = 0  # weights received from the engine since the window opened
        self._asked_at: int | None = None  # the step of the last periodic request
        self._attached_mtime = 0
        self._poll = QTimer(self, interval=ATTACHED_POLL_MS)
        self._poll.timeout.connect(self._poll_attached)
        workspace.changed.connect(self._workspace_changed)
        workspace.weights_offered.connect(self._offered)
        workspace.checkpoint_written.connect(self._checkpoint_written)
        self._state_changed(workspace.training, TrainingState.IDLE)

    def state(self) -> TrainingState:
        return self.workspace.training

    def _workspace_changed(self, aspects: frozenset) -> None:
        if TRAINING in aspects:
            self._state_changed(self.workspace.training, self.workspace.previous_training)
        elif RUN in aspects:
            self._update()
        if STEP in aspects and self.workspace.step is not None:
            self._step_done(self.workspace.step)

    def _state_changed(self, state: TrainingState, previous: TrainingState) -> None:
        if state == TrainingState.STARTING:
            self._asked_at = None
        text = {TrainingState.STARTING: "training is starting",
                TrainingState.TRAINING: "training runs in the Train panel",
                TrainingState.PAUSED: "training is paused",
                TrainingState.ATTACHED: "following a run attached in the Train panel"}
        ended = state == TrainingState.IDLE and previous.in_session
        latest = self._latest() if ended else None
        offer = str(latest) if latest is not None and not self.following else ""
        note = f"training ended: {self.workspace.run_dir.name}" if offer else \
            text.get(state, "no training in the Train panel")
        self.availability_changed.emit(state.live or state == TrainingState.ATTACHED, note)
        self.finished_offered.emit(offer)
        self._update()
        if latest is not None and self.following:
            # the final weights: the engine answers no request after its last step
            self.fetch_checkpoint.emit(str(latest))

    def _step_done(self, step: int) -> None:
        if not (self.following and self.state().live):
            return
        if self._asked_at is None or step - self._asked_at >= self.every:
            self._asked_at = step
            self.workspace.request_weights()

    def _offered(self, offer: dict) -> None:
        self.offers += 1
        if self.following:
            self.weights_arrived.emit(offer)

    def _latest(self) -> Path | None:
        run = self.workspace.run_dir
        latest = RunLayout(run).latest if run is not None else None
        return latest if latest is not None and latest.is_file() else None

    def set_following(self, following: bool) -> None:
        self.following = following
        self._update()
        if following:
            self.refresh()

    def set_every(self, every: int) -> None:
        self.every = max(1, int(every))

    def _update(self) -> None:
        if self.following and self.state() == TrainingState.ATTACHED:
            self._attached_mtime = 0
            self._poll.start()
        else:
            self._poll.stop()

    def refresh(self) -> None:
        """Now: from the engine while a training runs here (paused too), else through a checkpoint."""
        state = self.state()
        if state.live:
            self.workspace.request_weights()
        elif state == TrainingState.ATTACHED:
            self._attached_mtime = 0
            self._poll_attached()

    def _checkpoint_written(self, path: str) -> None:
        if not self.following:
            return
        if self.offers > 0 and self.state() == TrainingState.TRAINING:
            self.workspace.request_weights()  # fresher than the file, and no read of optimizer states
        else:
            self.fetch_checkpoint.emit(path)

    def _poll_attached(self) -> None:
        run = self.workspace.run_dir
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
        self.following = False

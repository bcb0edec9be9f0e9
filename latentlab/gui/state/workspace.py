"""What the tabs share, with no Qt: the window's one model, which every panel is handed.

The tabs never see each other. What one of them makes and another uses passes through here:
    run_dir      the run the Train tab trains or follows (or trained last)
    training     its TrainingState
    step         the last step its training reported (not set for an attached run)
    model        the model on screen (a ModelSlot: MODEL when another arrives, WEIGHTS on a hot swap)
    explore      the face on screen: latent, edits, keyframes, the photo in progress (an ExploreState)
    bookmarks    the named latents of the model on screen
Changes of the plain fields go out through `changed` as aspects (RUN, TRAINING, STEP, BOOKMARKS);
things that happen rather than change have an emitter each (weights asked for and offered, a
checkpoint written or opened, a status line, a panel that wants to come forward). Whoever owns the
thing asked for answers: the Train tab holds the training driver, so it forwards `weights_requested`
to its Control and the engine's answer to `offer_weights`. Every callback runs on the GUI thread.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from latentlab.gui.state.events import ChangeModel, Emitter
from latentlab.gui.state.explore_state import ExploreState
from latentlab.gui.state.loading import ModelSlot

RUN, TRAINING, STEP, BOOKMARKS = "run", "training", "step", "bookmarks"


class TrainingState(StrEnum):
    IDLE = "idle"
    STARTING = "starting"  # the data and the nets are being made ready
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"  # the engine writes its last checkpoint
    ATTACHED = "attached"  # following a run another process writes

    @property
    def in_session(self) -> bool:
        """A training driver runs in this window (its thread is alive)."""
        return self in (TrainingState.STARTING, TrainingState.TRAINING, TrainingState.PAUSED,
                        TrainingState.STOPPING)

    @property
    def live(self) -> bool:
        """The engine takes commands: settings, Stop, a request for its weights."""
        return self in (TrainingState.STARTING, TrainingState.TRAINING, TrainingState.PAUSED)

    @property
    def holds_cores(self) -> bool:
        """Training uses the cores (renders then take one; paused or attached leaves them all free)."""
        return self in (TrainingState.STARTING, TrainingState.TRAINING, TrainingState.STOPPING)


class Workspace(ChangeModel):
    def __init__(self):
        super().__init__()
        self.run_dir: Path | None = None
        self.training = TrainingState.IDLE
        self.previous_training = TrainingState.IDLE  # what `training` was before its last change
        self.step: int | None = None
        self.model = ModelSlot()
        self.explore = ExploreState(0)
        self.bookmarks: list = []  # latentlab.latent.Bookmark, of the model on screen's latent size
        # False while the window that holds the panels has yet to paint (slow work waits for it);
        # a workspace without a main window has nothing to wait for.
        self.painted = True

        self.weights_requested = Emitter()  # () the live generator's weights, please
        self.weights_offered = Emitter()  # ({"step", "model", "data", "states"}) CPU copies from the engine
        self.checkpoint_written = Emitter()  # (path) a checkpoint of the run training in this window
        self.checkpoint_opened = Emitter()  # (path) File › Open checkpoint, a drop, `latentlab gui CKPT`
        self.status_message = Emitter()  # (text, milliseconds) for the window's status bar
        self.show_requested = Emitter()  # (panel) bring this tab forward
        self.first_painted = Emitter()  # () the window's first paint
        self.save_requested = Emitter()  # () a checkpoint of the training in this window now (Measure now)
        self.model_wanted = Emitter()  # () a panel drawing with the model on screen was shown and there is none

    @property
    def photo(self) -> dict | None:
        """The photo in progress: {"photo", "z", "reconstruction", "name"}, or None."""
        return self.explore.photo

    # -- the Train tab's side ------------------------------------------------------------------------
    def set_training(self, state: TrainingState | str, run_dir: str | Path | None = None) -> None:
        state = TrainingState(state)
        run_dir = Path(run_dir) if run_dir is not None else None
        with self.batch():
            if run_dir != self.run_dir:
                self.run_dir = run_dir
                self.notify(RUN)
            if state != self.training:
                self.previous_training, self.training = self.training, state
                if state == TrainingState.STARTING:
                    self.step = None
                self.notify(TRAINING)

    def set_step(self, step: int) -> None:
        self.step = int(step)
        self.notify(STEP)

    def offer_weights(self, offer: dict) -> None:
        self.weights_offered.emit(offer)

    # -- the viewers' side -----------------------------------------------------------------------------
    def request_weights(self) -> None:
        self.weights_requested.emit()

    def set_bookmarks(self, bookmarks: list) -> None:
        self.bookmarks = list(bookmarks)
        self.notify(BOOKMARKS)

    # -- the window's side ------------------------------------------------------------------------------
    def open_checkpoint(self, path: str | Path) -> None:
        self.checkpoint_opened.emit(str(path))

    def show(self, panel) -> None:
        self.show_requested.emit(panel)

    def say(self, text: str, ms: int = 3000) -> None:
        self.status_message.emit(text, ms)

    def set_painted(self) -> None:
        if not self.painted:
            self.painted = True
            self.first_painted.emit()

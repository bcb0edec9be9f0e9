"""The one path from the Explore state to pixels on screen.

Whatever changed the state (a slider, a bookmark, a keyframe, a photo, new weights), its LATENT or
STRIP change lands here and becomes a request to the render worker; the newest answer is painted,
older ones are dropped. The status label shows the generator's time and the time from the change to
its pixels on screen.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from latentlab.gui.state.explore_state import LATENT, STRIP, ExploreState
from latentlab.gui.state.loading import ModelSlot


class ViewRendering(QObject):
    latent_changed = Signal()  # a new latent was sent to render
    image_shown = Signal(object)  # uint8 (H, W, 3) now in the view

    def __init__(self, state: ExploreState, slot: ModelSlot, service, view, strip, status, parent=None):
        super().__init__(parent)
        self.state, self.slot, self.service = state, slot, service
        self.view, self.strip, self.status = view, strip, status
        self.shown_id = -1  # newest view request on screen
        self.strip_id = -1
        self.last_request = -1
        self.render_ms = 0.0
        self._asked_at: dict[int, float | None] = {}  # view request id -> perf_counter() when asked
        state.changed.connect(self._state_changed)
        # Bound methods of a QObject: Qt queues each call from the render thread onto the GUI thread.
        service.worker.image_ready.connect(self._image_ready)
        service.worker.strip_ready.connect(self._strip_ready)
        view.painted.connect(self._painted)

    def _state_changed(self, aspects: frozenset) -> None:
        if self.slot.info is None:
            return
        if LATENT in aspects:
            self.last_request = self.service.render(self.state.latent())
            # Asked while the view is hidden (another tab): it paints when shown, and the wait is the
            # user's, not the renderer's; no "on screen" time is claimed for it.
            self._asked_at[self.last_request] = time.perf_counter() if self.view.isVisible() else None
            if len(self._asked_at) > 32:
                self._asked_at.pop(next(iter(self._asked_at)))
            self.latent_changed.emit()
        if STRIP in aspects and self.state.has_keyframes():
            self.service.request("strip", self.state.strip())

    def _image_ready(self, rid: int, image: np.ndarray, ms: float) -> None:
        if rid <= self.shown_id:
            return  # an older picture than the one on screen
        self.shown_id = rid
        self.render_ms = ms
        self.view.set_array(image, rid)
        self.image_shown.emit(image)

    def _painted(self, rid: int) -> None:
        if rid not in self._asked_at:
            return
        asked = self._asked_at.pop(rid)
        on_screen = "" if asked is None else f" · on screen {1000 * (self.view.painted_at - asked):.0f} ms"
        self.status.setText(f"render {self.render_ms:.1f} ms{on_screen}")

    def _strip_ready(self, rid: int, images: np.ndarray, ms: float) -> None:
        if rid > self.strip_id:
            self.strip_id = rid
            self.strip.set_frames(images, rid)

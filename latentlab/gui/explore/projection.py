"""The photo journey's parts: the jobs that read, detect and project a photo, and the photo view on
which the user picks or draws the face (photo_journey.py lays them out).

Reading, detection and projection run on their own threads (latentlab.inference.photo does the work); their
results come back tagged with the job that asked, and only the newest job's land: a second photo
while one projects replaces it, and Stop drops the job without touching the explorer's state.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QWidget,
)

from latentlab.config import UserError
from latentlab.gui.widgets.image_view import fit_rect, to_qimage

HANDLE = 10  # px of the box's resize corner on screen


class PhotoJobs(QObject):
    """Jobs on daemon threads, one at a time that matters: starting one cancels the one before."""

    prepared = Signal(int, object)  # job, (pixels, faces)
    progressed = Signal(int, object)  # job, latentlab.inference.photo.ProjectionStep
    finished = Signal(int, object)  # job, latentlab.inference.photo.Projection
    failed = Signal(int, str)  # job, one-line message
    stopped = Signal(int)  # job
    measured = Signal(object, float)  # key, the training images' error (a measurement beside the jobs)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = 0
        self._cancel = threading.Event()
        self._measure_cancel = threading.Event()
        self._threads: list[threading.Thread] = []

    def _start(self, work) -> int:
        self._cancel.set()  # the job before, if any, stops at its next step and is ignored
        self._cancel = cancel = threading.Event()
        self.job += 1
        job = self.job

        def run():
            try:
                work(job, cancel)
            except UserError as exc:
                self.failed.emit(job, str(exc))
            except Exception as exc:  # noqa: BLE001 - shown in the panel, the window stays usable
                self.failed.emit(job, f"{type(exc).__name__}: {exc}")

        thread = threading.Thread(target=run, name="latentlab-photo", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def read(self, path: str) -> int:
        def work(job, cancel):
            from latentlab.data.align import read_photo
            from latentlab.data.decode import BadImage
            from latentlab.data.faces import detect_faces

            try:
                photo = read_photo(path)
            except (UserError, BadImage) as exc:  # the message names the file, as the window shows it alone
                text = str(exc)
                raise UserError(text if Path(path).name in text else f"{Path(path).name}: {text}") from None
            faces = detect_faces(photo.pixels)
            if not cancel.is_set():
                self.prepared.emit(job, (photo.pixels, faces))

        return self._start(work)

    def project(self, renderer, target: np.ndarray, steps: int, restarts: int) -> int:
        def work(job, cancel):
            from latentlab.inference.photo import ProjectionCancelled, project

            try:
                result = project(renderer.G, target, E=renderer.E, steps=steps, restarts=restarts,
                                 progress=lambda s: cancel.is_set() or self.progressed.emit(job, s),
                                 should_stop=cancel.is_set, report_every=3)
            except ProjectionCancelled:
                self.stopped.emit(job)
                return
            self.finished.emit(job, result)

        return self._start(work)

    def measure(self, key, work) -> None:
        """`work(should_stop) -> float` on its own thread, beside the photo's job (it does not replace it)."""
        cancel = self._measure_cancel

        def run():
            try:
                value = work(cancel.is_set)
            except Exception:  # noqa: BLE001 - no reference at hand (data moved, cancelled): nothing said
                return
            if not cancel.is_set():
                self.measured.emit(key, float(value))

        thread = threading.Thread(target=run, name="latentlab-photo-reference", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def stop(self) -> None:
        self._cancel.set()

    def shutdown(self, timeout_s: float = 1.0) -> bool:
        self._measure_cancel.set()
        self.stop()
        for t in self._threads:
            t.join(timeout_s)
        return not any(t.is_alive() for t in self._threads)


class FaceBoxView(QWidget):
    """The photo with the faces found outlined (click one to choose it) and a box the user draws,
    moves (drag inside) and resizes (drag its lower-right corner); the box overrides the detector."""

    face_chosen = Signal(int)
    box_drawn = Signal(object)  # (x, y, w, h) in photo pixels

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.pixels: np.ndarray | None = None
        self._image = None
        self.faces: list = []
        self.chosen = 0
        self.box: tuple | None = None  # the user's box, photo pixels
        self._drag = None  # ("new" | "move" | "size", start photo point, box at start)
        self.setMouseTracking(True)

    def set_photo(self, pixels, faces) -> None:
        self.pixels, self.faces, self.chosen, self.box = pixels, list(faces), 0, None
        self._image = None if pixels is None else to_qimage(np.ascontiguousarray(pixels))
        self.update()

    def _frame(self) -> QRectF:
        h, w = self.pixels.shape[:2]
        return fit_rect(self.rect(), w, h, whole=False)

    def to_photo(self, p: QPointF) -> tuple[float, float]:
        r = self._frame()
        s = self.pixels.shape[1] / r.width()
        return (p.x() - r.x()) * s, (p.y() - r.y()) * s

    def to_screen(self, box) -> QRectF:
        r = self._frame()
        s = r.width() / self.pixels.shape[1]
        x, y, w, h = box
        return QRectF(r.x() + x * s, r.y() + y * s, w * s, h * s)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(40, 40, 40))
        if self._image is None:
            p.setPen(QColor(160, 160, 160))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, "Open or drop a photo: any size, any model")
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        p.drawImage(self._frame(), self._image)
        for i, face in enumerate(self.faces):
            chosen = self.box is None and i == self.chosen
            p.setPen(QPen(QColor(255, 80, 80) if chosen else QColor(255, 220, 120), 3 if chosen else 1))
            p.drawRect(self.to_screen(face.box))
        if self.box is not None:
            r = self.to_screen(self.box)
            p.setPen(QPen(QColor(90, 200, 255), 2, Qt.DashLine))
            p.drawRect(r)
            p.fillRect(QRectF(r.right() - HANDLE, r.bottom() - HANDLE, HANDLE, HANDLE), QColor(90, 200, 255))

    def mousePressEvent(self, event) -> None:
        if self.pixels is None or event.button() != Qt.LeftButton:
            return
        pos = event.position()
        at = self.to_photo(pos)
        if self.box is not None:
            r = self.to_screen(self.box)
            if QRectF(r.right() - HANDLE, r.bottom() - HANDLE, HANDLE + 4, HANDLE + 4).contains(pos):
                self._drag = ("size", at, self.box)
                return
            if r.contains(pos):
                self._drag = ("move", at, self.box)
                return
        for i, face in enumerate(self.faces):
            if self.to_screen(face.box).contains(pos):
                self.chosen, self.box = i, None
                self.update()
                self.face_chosen.emit(i)
                return
        self._drag = ("new", at, None)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        kind, (x0, y0), start = self._drag
        x1, y1 = self.to_photo(event.position())
        if kind == "new":
            self.box = (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
        elif kind == "move":
            self.box = (start[0] + x1 - x0, start[1] + y1 - y0, start[2], start[3])
        else:
            self.box = (start[0], start[1], max(4.0, start[2] + x1 - x0), max(4.0, start[3] + y1 - y0))
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None:
            return
        self._drag = None
        if self.box is not None and min(self.box[2], self.box[3]) >= 8:
            self.box_drawn.emit(self.box)
        else:
            self.box = None
            self.update()

    def set_box(self, box) -> None:
        self.box = box
        self.update()

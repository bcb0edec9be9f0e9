"""The Photo page of the Explore panel: any photo in, its face found and aligned, then projected into
the model's latent space while the picture converges live.

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
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.config import UserError
from latentlab.gui.widgets.image_view import ImageViewWidget, fit_rect, to_qimage

HANDLE = 10  # px of the box's resize corner on screen


class PhotoJobs(QObject):
    """Jobs on daemon threads, one at a time that matters: starting one cancels the one before."""

    prepared = Signal(int, object)  # job, (pixels, faces)
    progressed = Signal(int, object)  # job, latentlab.inference.photo.ProjectionStep
    finished = Signal(int, object)  # job, latentlab.inference.photo.Projection
    failed = Signal(int, str)  # job, one-line message
    stopped = Signal(int)  # job

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = 0
        self._cancel = threading.Event()
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
            from latentlab.data.faces import detect_faces

            photo = read_photo(path)
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

    def stop(self) -> None:
        self._cancel.set()

    def shutdown(self, timeout_s: float = 1.0) -> bool:
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


class PhotoProjectionWidget(QWidget):
    """Open a photo, choose or draw the face, "Find in latent space"; `projected` hands the result on.
    Photos dropped while this page shows come here through the panel's drop handler."""

    projected = Signal(object)  # {"z", "photo" (aligned), "reconstruction" (G(z)), "name"}
    message = Signal(str, str)  # text, "error" | "info"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.jobs = PhotoJobs(self)
        self.faces_view = FaceBoxView()
        self.aligned = ImageViewWidget("aligned face", minimum=72)
        self.result = ImageViewWidget("result", minimum=72)
        self.open_button = QPushButton("Open photo…")
        self.find_button = QPushButton("Find in latent space")
        self.find_button.setToolTip("Projection: search the latent whose picture matches the aligned face "
                                    "(Zhu et al. 2016; Abdal et al. 2019); a VAE/GAN starts from its encoder")
        self.stop_button = QPushButton("Stop")
        self.detector_button = QPushButton("Use detector")
        self.detector_button.setToolTip("Forget the box drawn on this photo")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.status = QLabel("Drop a photo here or open one; drag on it to draw the face's box.")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        views = QGridLayout()
        views.addWidget(self.aligned, 0, 0)
        views.addWidget(self.result, 0, 1)
        for col, caption in enumerate(("aligned", "found in the latent space")):
            label = QLabel(caption)
            label.setObjectName("muted")
            label.setAlignment(Qt.AlignCenter)
            views.addWidget(label, 1, col)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.detector_button, self.find_button, self.stop_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.faces_view, 3)
        layout.addLayout(views, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        self.renderer = None
        self.conv = None
        self.path: str | None = None
        self.boxes: dict[str, tuple] = {}  # photo path -> the box the user drew on it
        self.target: np.ndarray | None = None
        self.steps, self.restarts = 150, 4
        self._read_job = self._project_job = -1
        self.open_button.clicked.connect(self.choose_photo)
        self.find_button.clicked.connect(self.find)
        self.stop_button.clicked.connect(self.stop)
        self.detector_button.clicked.connect(self.use_detector)
        self.faces_view.face_chosen.connect(lambda _: self._align())
        self.faces_view.box_drawn.connect(self._box_drawn)
        self.jobs.prepared.connect(self._prepared)
        self.jobs.progressed.connect(self._progressed)
        self.jobs.finished.connect(self._finished)
        self.jobs.failed.connect(self._failed)
        self.jobs.stopped.connect(self._stopped)
        self._set_running(False)

    # -- the model ----------------------------------------------------------------------------------
    def set_model(self, info) -> None:
        from latentlab.inference.photo import model_convention

        self.stop()
        self.renderer = info.renderer
        self.conv = model_convention(info.renderer)
        self._align()

    # -- photos -------------------------------------------------------------------------------------
    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)")
        if path:
            self.open_photo(path)

    def open_photo(self, path: str | Path) -> None:
        """The newest photo wins: a projection or a read in flight is dropped."""
        self.path = str(path)
        self.target = None
        self.aligned.set_array(None)
        self.result.set_array(None)
        self._project_job = -1
        self._set_running(False)
        self.status.setText(f"Reading {Path(path).name}…")
        self._read_job = self.jobs.read(self.path)

    def _prepared(self, job: int, payload) -> None:
        if job != self._read_job:
            return
        pixels, faces = payload
        self.faces_view.set_photo(pixels, faces)
        self.faces_view.set_box(self.boxes.get(self.path))
        self._align()

    def _box_drawn(self, box) -> None:
        if self.path is not None:
            self.boxes[self.path] = tuple(box)
        self._align()

    def use_detector(self) -> None:
        self.boxes.pop(self.path, None)
        self.faces_view.set_box(None)
        self._align()

    def _align(self) -> None:
        from latentlab.data.align import NO_FACE, align_photo

        view = self.faces_view
        if view.pixels is None or self.conv is None or self.renderer is None:
            return
        name = Path(self.path).name if self.path else "photo"
        try:
            aligned, _ = align_photo(view.pixels, self.conv, self.renderer.image_size, box=view.box,
                                     index=view.chosen, faces=view.faces)
        except UserError as exc:
            self.target = None
            self.aligned.set_array(None)
            text = str(exc)
            if text == NO_FACE:
                text = "No face found: drag on the photo to draw a box around the face."
            self.status.setText(f"{name}: {text}")
            self.message.emit(f"{name}: {text}", "error")
            self._set_running(False)
            return
        self.target = aligned.image
        self.aligned.set_array(aligned.image)
        how = "your box" if view.box is not None else ("the eyes" if not aligned.from_box else "the face box")
        count = f"{len(view.faces)} face(s) found; " if view.faces else ""
        self.status.setText(f"{name}: {count}aligned by {how} ({self.conv.name} crop). Click a face to pick "
                            "another, or drag a box.")
        self._set_running(False)

    # -- projection ---------------------------------------------------------------------------------
    def find(self) -> None:
        if self.target is None or self.renderer is None:
            return
        self.progress.setRange(0, self.steps)
        self.progress.setValue(0)
        self._set_running(True)
        self.status.setText("Finding the face in the latent space…")
        self._project_job = self.jobs.project(self.renderer, self.target, self.steps, self.restarts)

    def stop(self) -> None:
        self.jobs.stop()
        if self._project_job != -1:
            self._project_job = -1
            self.result.set_array(None)
            self.status.setText("Stopped; nothing changed.")
        self._set_running(False)

    def _progressed(self, job: int, s) -> None:
        if job != self._project_job:
            return
        self.result.set_array(s.image)
        self.progress.setValue(s.step)
        self.status.setText(f"step {s.step}/{s.steps} · error {s.error:.1f} grey levels")

    def _finished(self, job: int, result) -> None:
        if job != self._project_job:
            return
        self._project_job = -1
        self._set_running(False)
        self.result.set_array(result.image)
        self.progress.setValue(self.progress.maximum())
        start = f" (encoder alone {result.start_error:.1f})" if result.start == "encoder" else ""
        self.status.setText(f"Found: error {result.error:.1f} grey levels{start} in {result.seconds:.1f} s. "
                            "It is now the face the sliders edit.")
        name = Path(self.path).stem if self.path else "photo"
        self.projected.emit({"z": result.z, "photo": self.target, "reconstruction": result.image, "name": name})

    def _stopped(self, job: int) -> None:
        pass  # Stop already restored the page; a replaced job ends here too

    def _failed(self, job: int, message: str) -> None:
        if job not in (self._read_job, self._project_job):
            return
        if job == self._project_job:
            self._project_job = -1
        self._set_running(False)
        self.status.setText(message)
        self.message.emit(message, "error")

    def _set_running(self, running: bool) -> None:
        self.find_button.setEnabled(not running and self.target is not None and self.renderer is not None)
        self.stop_button.setEnabled(running)
        if not running and self.progress.value() < 0:
            self.progress.setValue(0)

    @property
    def running(self) -> bool:
        return self._project_job != -1

    def shutdown(self, timeout_s: float = 1.0) -> bool:
        return self.jobs.shutdown(timeout_s)

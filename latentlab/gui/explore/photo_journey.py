"""The photo journey: any photo in, its face found and aligned, then found in the model's latent space,
in the Explore panel's main picture area (File › Open photo…, Ctrl+Shift+O, or a drop anywhere).

The photo, the aligned crop and the result sit side by side above one row of buttons, the progress and
the status, so all of it shows in a 1024×700 window. A VAE/GAN's encoder gives the first answer at
once; "Refine" then searches further from it (projection, Zhu et al. 2016). A GAN has only the
search ("Find in latent space"). When the result's error is far above what the model reaches on its
own training images (measured the same way, once per model), one line says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
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
from latentlab.gui.explore.projection import FaceBoxView, PhotoJobs
from latentlab.gui.widgets.image_view import ImageViewWidget

PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)"
REFERENCE_IMAGES = {"encoder": 8, "search": 2}  # training images measured per stage (a search costs seconds)


def source_words(info) -> str:
    """The faces a model was trained on, in words."""
    source = getattr(info, "data_source", None) or ""
    if source == "synthetic":
        return "the procedural cartoon faces it was trained on"
    if source:
        return f"the faces of {Path(source.split(':', 1)[-1]).name or source} it was trained on"
    return "the faces it was trained on"


class PhotoProjectionWidget(QWidget):
    """Open a photo, choose or draw the face, find it; `projected` hands each result on (the encoder's,
    then the refined one), `done` asks for the generator view back."""

    projected = Signal(object)  # {"z", "photo" (aligned), "reconstruction" (G(z)), "name"}
    message = Signal(str, str)  # text, "error" | "info"
    done = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.jobs = PhotoJobs(self)
        self.faces_view = FaceBoxView()
        self.faces_view.setToolTip("Click a face to pick it, or drag a box around the face")
        self.aligned = ImageViewWidget("aligned face", minimum=96)
        self.result = ImageViewWidget("result", minimum=96)
        self.open_button = QPushButton("Open photo…")
        self.open_button.setToolTip("Any photo with a face, any size (or drop one anywhere on the window)")
        self.find_button = QPushButton("Find in latent space")
        self.stop_button = QPushButton("Stop")
        self.detector_button = QPushButton("Use detector")
        self.detector_button.setToolTip("Forget the box drawn on this photo")
        self.done_button = QPushButton("Done")
        self.done_button.setToolTip("Back to the generator view: the face found is the one the sliders edit")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("Drop a photo here or open one; drag on it to draw the face's box.")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setObjectName("banner_info")
        self.verdict.setWordWrap(True)
        self.verdict.hide()

        pictures = QGridLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        for col, (view, caption, stretch) in enumerate(((self.faces_view, "photo", 3), (self.aligned, "aligned", 2),
                                                         (self.result, "found in the latent space", 2))):
            pictures.addWidget(view, 0, col)
            label = QLabel(caption)
            label.setObjectName("muted")
            label.setAlignment(Qt.AlignCenter)
            pictures.addWidget(label, 1, col)
            pictures.setColumnStretch(col, stretch)
        pictures.setRowStretch(0, 1)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.detector_button, self.find_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pictures, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.verdict)

        self.info = None
        self.renderer = None
        self.conv = None
        self.path: str | None = None
        self.boxes: dict[str, tuple] = {}  # photo path -> the box the user drew on it
        self.target: np.ndarray | None = None
        self.steps, self.restarts = 150, 4
        self.references: dict[tuple, float] = {}  # (model, stage, steps, restarts) -> training images' error
        self._read_job = self._project_job = -1
        self._stage = ""  # "encoder" | "search": what the running job is
        self._pending_verdict: tuple | None = None  # (reference key, the photo's error) awaiting a measurement
        self.open_button.clicked.connect(self.choose_photo)
        self.find_button.clicked.connect(self.find)
        self.stop_button.clicked.connect(self.stop)
        self.detector_button.clicked.connect(self.use_detector)
        self.done_button.clicked.connect(self.done)
        self.faces_view.face_chosen.connect(lambda _: self._align())
        self.faces_view.box_drawn.connect(self._box_drawn)
        self.jobs.prepared.connect(self._prepared)
        self.jobs.progressed.connect(self._progressed)
        self.jobs.finished.connect(self._finished)
        self.jobs.failed.connect(self._failed)
        self.jobs.measured.connect(self._measured)
        self._set_running(False)

    # -- the model ----------------------------------------------------------------------------------
    @property
    def has_encoder(self) -> bool:
        return getattr(self.renderer, "E", None) is not None

    def set_model(self, info) -> None:
        """A new model: what was found with the old one goes; the photo is aligned (and encoded) anew."""
        from latentlab.inference.photo import model_convention

        self.stop()
        self.info = info
        self.renderer = info.renderer
        self.conv = model_convention(info.renderer)
        self.result.set_array(None)
        self.progress.setValue(0)
        self.verdict.hide()
        self._pending_verdict = None
        if self.has_encoder:
            self.find_button.setText("Refine")
            self.find_button.setToolTip("Search further from the encoder's answer (projection: Zhu et al. 2016; "
                                        "Abdal et al. 2019)")
        else:
            self.find_button.setText("Find in latent space")
            self.find_button.setToolTip("Projection: search the latent whose picture matches the aligned face "
                                        "(Zhu et al. 2016; Abdal et al. 2019)")
        self._align()

    # -- photos -------------------------------------------------------------------------------------
    def choose_photo(self) -> None:
        from latentlab.gui.settings import last_folder, remember_folder

        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", last_folder("photo"), PHOTO_FILTER)
        if path:
            remember_folder("photo", path)
            self.open_photo(path)

    def open_photo(self, path: str | Path) -> None:
        """The newest photo wins: a projection or a read in flight is dropped."""
        self.path = str(path)
        self.target = None
        self.aligned.set_array(None)
        self.result.set_array(None)
        self.verdict.hide()
        self._pending_verdict = None
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
        self.result.set_array(None)
        self.verdict.hide()
        self._pending_verdict = None
        how = "your box" if view.box is not None else ("the eyes" if not aligned.from_box else "the face box")
        count = f"{len(view.faces)} face(s) found; " if view.faces else ""
        self.status.setText(f"{name}: {count}aligned by {how} ({self.conv.name} crop). Click a face to pick "
                            "another, or drag a box.")
        self._set_running(False)
        if self.has_encoder:
            self._run("encoder")  # the encoder's answer at once; Refine searches from it

    # -- finding the face -----------------------------------------------------------------------------
    def find(self) -> None:
        self._run("search")

    def _run(self, stage: str) -> None:
        if self.target is None or self.renderer is None:
            return
        steps, restarts = (0, 1) if stage == "encoder" else (self.steps, self.restarts)
        self._stage = stage
        self.verdict.hide()  # it judged the answer before this one
        self._pending_verdict = None
        self.progress.setRange(0, max(1, steps))
        self.progress.setValue(0)
        self._set_running(True)
        self.status.setText("Encoding the face…" if stage == "encoder" else "Finding the face in the latent space…")
        self._project_job = self.jobs.project(self.renderer, self.target, steps, restarts)

    def stop(self) -> None:
        self.jobs.stop()
        if self._project_job != -1:
            self._project_job = -1
            self.result.set_array(None)
            self.status.setText("Stopped; nothing changed.")
        self._set_running(False)

    def _progressed(self, job: int, s) -> None:
        if job != self._project_job or s.steps == 0:
            return
        self.result.set_array(s.image)
        self.progress.setValue(s.step)
        self.status.setText(f"step {s.step}/{s.steps} · error {s.error:.1f} grey levels")

    def _finished(self, job: int, result) -> None:
        if job != self._project_job:
            return
        self._project_job = -1
        stage = self._stage
        self._set_running(False)
        self.result.set_array(result.image)
        self.progress.setValue(self.progress.maximum())
        if stage == "encoder":
            self.status.setText(f"The encoder's answer: error {result.error:.1f} grey levels. It is the face the "
                                "sliders edit; Refine searches further from it.")
        else:
            start = f" (encoder alone {result.start_error:.1f})" if result.start == "encoder" else ""
            self.status.setText(f"Found: error {result.error:.1f} grey levels{start} in {result.seconds:.1f} s. "
                                "It is now the face the sliders edit.")
        name = Path(self.path).stem if self.path else "photo"
        self.projected.emit({"z": result.z, "photo": self.target, "reconstruction": result.image, "name": name})
        self._judge(stage, result.error)

    def _failed(self, job: int, message: str) -> None:
        if job not in (self._read_job, self._project_job):
            return
        if job == self._project_job:
            self._project_job = -1
        self._set_running(False)
        self.status.setText(message)
        self.message.emit(message, "error")

    # -- is this photo like the model's training images? ----------------------------------------------
    def _reference_key(self, stage: str) -> tuple:
        steps, restarts = (0, 1) if stage == "encoder" else (self.steps, self.restarts)
        return id(self.renderer), getattr(self.info, "step", None), stage, steps, restarts

    def _judge(self, stage: str, error: float) -> None:
        """Say in one line when the error is far above the training images' (measured once per model,
        the same way, in the background)."""
        key = self._reference_key(stage)
        if key in self.references:
            self._show_verdict(error, self.references[key])
            return
        info, renderer = self.info, self.renderer
        if info is None or not getattr(info, "data_source", None):
            return  # an imported generator does not record its training data
        self._pending_verdict = (key, error)

        def measure(should_stop):
            from latentlab.gui.state.loading import training_image
            from latentlab.inference.photo import training_error

            count = REFERENCE_IMAGES[stage]
            train = max(1, (info.synthetic_count or count) - (info.holdout or 0)) \
                if info.data_source == "synthetic" else count
            images = [training_image(info, i * max(1, train // count)) for i in range(count)]
            return training_error(renderer.G, images, E=renderer.E, steps=key[3], restarts=key[4],
                                  should_stop=should_stop)

        self.jobs.measure(key, measure)

    def _measured(self, key, reference: float) -> None:
        self.references[key] = reference
        if self._pending_verdict is not None and self._pending_verdict[0] == key:
            self._show_verdict(self._pending_verdict[1], reference)

    def _show_verdict(self, error: float, reference: float) -> None:
        from latentlab.inference.photo import far_from_training

        if far_from_training(error, reference):
            self.verdict.setText(
                f"This photo is far from the faces this model knows: error {error:.0f} grey levels against "
                f"{reference:.0f} on {source_words(self.info)}. Training on photos like this one is the remedy.")
        else:
            self.verdict.setText(f"Error {error:.0f} grey levels against {reference:.0f} on "
                                 f"{source_words(self.info)}: a face this model knows.")
        self.verdict.show()

    def _set_running(self, running: bool) -> None:
        self.find_button.setEnabled(not running and self.target is not None and self.renderer is not None)
        self.stop_button.setEnabled(running)

    @property
    def running(self) -> bool:
        return self._project_job != -1

    def shutdown(self, timeout_s: float = 1.0) -> bool:
        return self.jobs.shutdown(timeout_s)

"""Explore › Directions › From folders…: a named direction from a folder of photos with the attribute
and one without, for any model (each photo projected into it, or a VAE/GAN's encoding refined; the
projections are cached), then the same classifier as Teach…. The window's `latentlab attributes
--with DIR --without DIR --name NAME`: the work runs on its own thread, with progress and Cancel."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from latentlab.config import UserError


class _Job(QObject):
    progressed = Signal(str, int, int)
    done = Signal(object)  # the Fit
    failed = Signal(str)


class FoldersDialog(QDialog):
    saved = Signal(str)

    def __init__(self, info, parent=None):
        super().__init__(parent)
        from latentlab.inference.api import Model

        self.info = info
        self.model = Model(info.renderer, checkpoint=info.path)
        self.setWindowTitle("A direction from two folders of photos")
        self.with_dir, self.without_dir = QLineEdit(), QLineEdit()
        self.name = QLineEdit()
        self.name.setPlaceholderText("name, e.g. glasses")
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel("Photos are cropped like the training data; align snapshots first (latentlab align).")
        self.status.setWordWrap(True)
        self.status.setObjectName("muted")
        self.start = QPushButton("Compute and save")
        self.start.clicked.connect(self.run)
        self.cancel = QPushButton("Close")
        self.cancel.clicked.connect(self._cancel_or_close)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.job = _Job(self)
        self.job.progressed.connect(self._progressed)
        self.job.done.connect(self._done)
        self.job.failed.connect(self._failed)
        form = QFormLayout(self)
        form.addRow("With the attribute", self._picker(self.with_dir))
        form.addRow("Without it", self._picker(self.without_dir))
        form.addRow("Name", self.name)
        form.addRow(self.progress)
        form.addRow(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start)
        buttons.addWidget(self.cancel)
        form.addRow(buttons)
        if info.path is None or info.kind == "live":
            self.start.setEnabled(False)
            self.status.setText("Directions are stored beside a checkpoint: open one (File › Open) first")

    def _picker(self, edit: QLineEdit) -> QWidget:
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: edit.setText(QFileDialog.getExistingDirectory(self, "Folder of photos")
                                                    or edit.text()))
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return box

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        from latentlab.latent.attributes import check_name

        try:
            check_name(self.name.text(), "Name")
            for label, edit in (("with", self.with_dir), ("without", self.without_dir)):
                if not edit.text().strip():
                    raise UserError(f"choose the folder of photos {label} the attribute")
        except UserError as exc:
            self.status.setText(str(exc))
            return
        self._stop.clear()
        self.start.setEnabled(False)
        self.cancel.setText("Cancel")
        self.progress.setRange(0, 0)
        self.progress.show()
        args = (self.name.text(), self.with_dir.text().strip(), self.without_dir.text().strip())

        def work():
            from latentlab.inference.photo import ProjectionCancelled

            try:
                import torch

                torch.set_num_threads(1)  # per thread under OpenMP: the view keeps a core
                fit = self.model.direction_from_folders(*args, progress=self.job.progressed.emit,
                                                        should_stop=self._stop.is_set)
                self.job.done.emit(fit)
            except ProjectionCancelled:
                self.job.failed.emit("Cancelled; the photos projected so far are cached for the next try")
            except UserError as exc:
                self.job.failed.emit(str(exc))
            except Exception as exc:  # noqa: BLE001 - shown in the dialog, never lost on a thread
                self.job.failed.emit(f"{type(exc).__name__}: {exc}")

        self._thread = threading.Thread(target=work, name="latentlab-folders-direction", daemon=True)
        self._thread.start()

    def _progressed(self, flag: str, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status.setText(f"{'with' if flag == '--with' else 'without'}: {done}/{total} photos projected")

    def _finish(self) -> None:
        self.progress.hide()
        self.start.setEnabled(True)
        self.cancel.setText("Close")

    def _done(self, fit) -> None:
        self._finish()
        try:
            self.model.save_direction(self.name.text(), fit, kind="folders",
                                      source=f"with {self.with_dir.text().strip()} / without "
                                             f"{self.without_dir.text().strip()}")
        except (UserError, OSError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        self.saved.emit(self.name.text().strip())
        self.accept()

    def _failed(self, message: str) -> None:
        self._finish()
        self.status.setText(message)

    def _cancel_or_close(self) -> None:
        if self.running():
            self._stop.set()
        else:
            self.reject()

    def wait(self, timeout_s: float) -> bool:
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running()

"""Principal directions (GANSpace, docs/algorithms.md §4) computed off the GUI thread, with progress and cancel.

The job runs on its own thread with one intra-op thread, so slider renders keep a core; it works
on the model's own CPU copy of G, never on the render worker's. Results are cached per checkpoint.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from latentlab.config import UserError
from latentlab.gui.explore.sliders import SliderBankWidget
from latentlab.gui.state.loading import PRINCIPAL_COMPONENTS, PRINCIPAL_SAMPLES, save_principal_cache


class DirectionsJob(QObject):
    progressed = Signal(int, int, int)  # model generation, samples done, total
    finished = Signal(int, object, object, object)  # model generation, directions (k, nz), stddevs (k,), explained (k,)
    failed = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def start(self, info, samples: int = PRINCIPAL_SAMPLES, components: int = PRINCIPAL_COMPONENTS) -> None:
        """Compute the directions of info.generator; a job already running is cancelled first."""
        self.cancel()
        cancel = threading.Event()
        self._cancel = cancel
        generation = info.generation

        def work():
            try:
                import torch

                torch.set_num_threads(1)  # per thread under OpenMP: leaves the other core to rendering
                result = _compute(info, samples, components, cancel,
                                  lambda done, total: self.progressed.emit(generation, done, total))
                if result is not None and not cancel.is_set():
                    save_principal_cache(info, *result)
                    self.finished.emit(generation, *result)
            except UserError as exc:
                self.failed.emit(generation, str(exc))
            except Exception as exc:  # noqa: BLE001 - shown in the panel, never lost on a thread
                self.failed.emit(generation, f"principal directions failed: {type(exc).__name__}: {exc}")

        self._thread = threading.Thread(target=work, name="latentlab-directions", daemon=True)
        self._thread.start()

    def wait(self, timeout_s: float) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def _compute(info, samples, components, cancel, progress):
    from latentlab.latent import principal_directions

    if info.generator is None or not hasattr(info.generator, "early_features"):
        raise UserError(f"{info.label}: this generator exposes no early layer for principal directions")
    return principal_directions(info.generator, n_samples=samples, n_components=min(components, info.latent_dim),
                                progress=progress, cancel=cancel.is_set)


class DirectionsPageWidget(QWidget):
    """The Directions tab: a progress bar while the job runs, Recompute, Teach…, and a slider per
    principal direction, each one's tooltip naming the named direction it is most like."""

    directions_changed = Signal(object)  # (k, nz) directions now shown, or None while computing
    amount_changed = Signal(int, float)
    named_changed = Signal(str)  # a direction was stored beside the checkpoint under this name

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = None
        self.named: dict[str, np.ndarray] = {}
        self._shown = None  # (directions, stddevs, explained) on screen
        self.teach = QPushButton("Teach…")
        self.teach.setToolTip("Name a direction: mark samples that have an attribute and samples that do not "
                              "(a classifier in latent space, Shen et al. 2020); it becomes an attribute slider")
        self.teach.setEnabled(False)
        self.teach.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.teach.clicked.connect(self.open_teach)
        self.from_folders = QPushButton("From folders…")
        self.from_folders.setToolTip("Name a direction from a folder of photos with an attribute and one without "
                                     "(each projected into the model); it becomes an attribute slider")
        self.from_folders.setEnabled(False)
        self.from_folders.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.from_folders.clicked.connect(self.open_folders)
        self.job = DirectionsJob(self)
        self.bank = SliderBankWidget(-3.0, 3.0, "Principal directions appear once computed")
        self.progress = QProgressBar()
        self.progress.setFormat("principal directions %p%")
        self.progress.hide()
        self.recompute = QPushButton("Recompute")
        self.recompute.setToolTip("Compute the principal directions of the generator on screen again "
                                  "(2,000 samples, PCA of its first layer, GANSpace)")
        self.recompute.setEnabled(False)
        self.recompute.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.recompute.clicked.connect(self.compute)
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addStretch(0)
        top.addWidget(self.teach)
        top.addWidget(self.from_folders)
        top.addWidget(self.recompute)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.bank, 1)
        self.bank.value_changed.connect(self.amount_changed)
        self.bank.reset_requested.connect(self._reset_row)
        self.job.progressed.connect(self._progressed)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)

    def set_model(self, info) -> None:
        """Show the model's cached directions, or compute them in the background."""
        self.info = info
        self.recompute.setEnabled(True)
        self.teach.setEnabled(True)
        self.from_folders.setEnabled(True)
        self.named = dict(info.attributes)
        if info.principal is not None:
            self._finished(info.generation, *info.principal)
        else:
            self.compute()

    def compute(self) -> None:
        if self.info is None:
            return
        self._shown = None
        self.bank.set_rows([], [])
        self.bank.set_empty_text("Computing principal directions…")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.show()
        self.directions_changed.emit(None)
        self.job.start(self.info)

    def set_amounts(self, amounts) -> None:
        self.bank.set_values(amounts)

    def _reset_row(self, row: int) -> None:
        self.bank.set_value(row, 0.0)
        self.amount_changed.emit(row, 0.0)

    def _current(self, generation: int) -> bool:
        return self.info is not None and generation == self.info.generation

    def open_folders(self):
        """The From folders… dialog on the model on screen; None before a model."""
        from latentlab.gui.explore.folders import FoldersDialog

        if self.info is None:
            return None
        dialog = FoldersDialog(self.info, self)
        dialog.saved.connect(self.named_changed)
        dialog.open()
        return dialog

    def _progressed(self, generation: int, done: int, total: int) -> None:
        if self._current(generation):
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _finished(self, generation: int, directions, stddevs, explained) -> None:
        if not self._current(generation):
            return
        self.progress.hide()
        self._shown = (directions, stddevs, explained)
        self.directions_changed.emit(directions)
        self.bank.set_rows([f"PC{i + 1}" for i in range(len(directions))], np.zeros(len(directions)),
                           self.tooltips())

    def tooltips(self) -> list[str]:
        """Per principal direction: its share of variance, and the named direction it is most like."""
        from latentlab.latent.classify import correlations

        directions, stddevs, explained = self._shown
        best = correlations(directions, self.named)
        return [f"principal direction {i + 1}: {e:.1%} of the variance of the generator's first "
                f"layer (σ = {s:.3g}); ±3 spans ±3 standard deviations of z along it"
                + ("" if b is None else f"\nmost like {b[0]!r} (cosine {b[1]:+.2f}"
                   f"{', weakly' if abs(b[1]) < 0.3 else ''})")
                for i, (s, e, b) in enumerate(zip(stddevs, explained, best))]

    def set_named(self, vectors: dict[str, np.ndarray]) -> None:
        """The named directions changed: the principal directions' tooltips name the closest again."""
        self.named = dict(vectors)
        if self._shown is not None and self.bank.count() == len(self._shown[0]):
            for i, tip in enumerate(self.tooltips()):
                self.bank.sliders[i].setToolTip(tip)
                label = self.bank._grid.itemAtPosition(i, 0)
                if label is not None and label.widget() is not None:
                    label.widget().setToolTip(tip)

    def open_teach(self):
        """The Teach… dialog, open (window-modal) on the model on screen; None before a model."""
        from latentlab.gui.explore.teach import TeachDialog

        if self.info is None:
            return None
        dialog = TeachDialog(self.info, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.saved.connect(self.named_changed)
        dialog.open()
        return dialog

    def _failed(self, generation: int, message: str) -> None:
        if self._current(generation):
            self.progress.hide()
            self.bank.set_empty_text(f"Principal directions unavailable: {message}")

    def shutdown(self, timeout_s: float) -> bool:
        self.job.cancel()
        return self.job.wait(timeout_s)

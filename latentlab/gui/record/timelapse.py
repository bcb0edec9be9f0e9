"""Record › Timelapse: a run's fixed-noise grids over training as a video (latentlab.media.timelapse).

The run is the Train tab's (offered by the window whenever that tab starts or attaches a run) or one
picked from disk. A scrubber previews any frame exactly as it will be written (size, label); Refresh
takes the grids a run still training has written since. The export runs write_timelapse on a
background thread with progress and Cancel (gui.record.export), which removes the partial file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.record.export import WalkExport, ask_video_path
from latentlab.gui.widgets.alerts import MessageBanner
from latentlab.gui.widgets.image_view import ImageViewWidget

AUTO_SECONDS = 4.0  # the default fps plays the grids over this long (a 12-grid run: 3 fps, 4 s)
MAX_AUTO_FPS = 30

class TimelapseWidget(QWidget):

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run: Path | None = None
        self.all_grids: list[tuple[int, Path]] = []  # every grid of the run
        self.grids: list[tuple[int, Path]] = []  # those between From and To: the frames
        self._epochs: dict[int, int] = {}
        self.export = WalkExport(self)
        self.export.failed.connect(self.show_error)
        self.export.running_changed.connect(self._update_enabled)
        self._build_ui()
        self._update_enabled()

    def _build_ui(self) -> None:
        self.banner = MessageBanner()
        self.run_label = QLabel("No run: start or attach one on the Train tab, or pick one")
        self.run_label.setObjectName("heading")
        self.run_label.setWordWrap(True)
        self.pick_button = QPushButton("Run…")
        self.pick_button.setToolTip("Pick a run directory (one still training, or written by torchrun, works too)")
        self.pick_button.clicked.connect(self.choose_run)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Take the grids the run has written since")
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.run_label, 1)
        top.addWidget(self.pick_button)
        top.addWidget(self.refresh_button)

        self.fps = QDoubleSpinBox(minimum=1, maximum=120, value=MAX_AUTO_FPS, decimals=1)
        self.fps.setToolTip(f"Until you set it: the run's grids over about {AUTO_SECONDS:.0f} s (at most "
                            f"{MAX_AUTO_FPS} fps), so a short run's dozen grids do not flash by")
        self.fps_auto = True  # follows the number of grids until the user sets it
        self.size_box = QSpinBox(minimum=0, maximum=8192, value=0, singleStep=64, suffix=" px")
        self.size_box.setSpecialValueText("auto (≥ 512 px, whole factor)")
        self.size_box.setToolTip("The frame's longer side; grids are upscaled nearest-neighbour")
        self.start = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.start.setSpecialValueText("first grid")
        self.stop = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.stop.setSpecialValueText("last grid")
        self.label = QCheckBox("Step and epoch in the bottom-left corner")
        self.hold = QDoubleSpinBox(minimum=0, maximum=60, value=0, decimals=1, suffix=" s")
        self.hold.setToolTip("Show the last grid this long at the end")
        self.length_label = QLabel("no grids")
        form = QFormLayout()
        form.addRow("Frames per second", self.fps)
        form.addRow("Size", self.size_box)
        form.addRow("From step", self.start)
        form.addRow("To step", self.stop)
        form.addRow("Label", self.label)
        form.addRow("Hold the last grid", self.hold)
        form.addRow("Length", self.length_label)
        for w in (self.start, self.stop):
            w.valueChanged.connect(self._list_changed)
        for w in (self.fps, self.hold):
            w.valueChanged.connect(self._update_length)
        self.fps.valueChanged.connect(self._fps_set)
        self.size_box.valueChanged.connect(self._show_frame)
        self.label.toggled.connect(self._show_frame)

        self.view = ImageViewWidget("No sample grids yet", minimum=240)
        self.scrubber = QSlider(Qt.Horizontal)
        self.scrubber.setToolTip("Scrub through the frames as they will be written")
        self.scrubber.valueChanged.connect(self._show_frame)
        self.frame_label = QLabel("")
        self.export_button = QPushButton("Export timelapse…")
        self.export_button.clicked.connect(self.choose_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.export.cancel)
        self.progress, self.export_label = self.export.progress, self.export.label
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.progress, 1)
        export_row.addWidget(self.cancel_button)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.view, 1)
        right.addWidget(self.scrubber)
        right.addWidget(self.frame_label)
        right.addLayout(export_row)
        right.addWidget(self.export_label)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    # -- the run and its grids ----------------------------------------------------------------------
    def choose_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Pick a run directory", str(self.run or ""))
        if path:
            self.set_run(path)

    def set_run(self, path: str | Path | None) -> None:
        if path is None:
            return
        self.run = Path(path)
        self.run_label.setText(f"Run: {self.run}")
        self.refresh()

    def refresh(self) -> None:
        from latentlab.media.timelapse import epochs_of, grid_files

        if self.run is None:
            return
        self.all_grids = grid_files(self.run)
        self._epochs = epochs_of(self.run, [s for s, _ in self.all_grids])
        self._list_changed()

    def _list_changed(self, *_) -> None:
        start, stop = self.start.value() or None, self.stop.value() or None
        self.grids = [(s, p) for s, p in self.all_grids if (start is None or s >= start) and (stop is None or s <= stop)]
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, max(0, len(self.grids) - 1))
        self.scrubber.setValue(len(self.grids) - 1)  # the newest grid: what a run still training looks like now
        self.scrubber.blockSignals(False)
        self._choose_fps()
        self._update_length()
        self._show_frame()
        self._update_enabled()

    def _fps_set(self, *_) -> None:
        self.fps_auto = False

    def _choose_fps(self) -> None:
        if self.fps_auto and self.grids:
            self.fps.blockSignals(True)
            self.fps.setValue(min(MAX_AUTO_FPS, max(1.0, round(len(self.grids) / AUTO_SECONDS, 1))))
            self.fps.blockSignals(False)

    def frame_count(self) -> int:
        return len(self.grids) + round(self.hold.value() * self.fps.value()) if self.grids else 0

    def _update_length(self, *_) -> None:
        n = self.frame_count()
        self.length_label.setText(f"{len(self.grids)} grids, {n} frames · {n / self.fps.value():.1f} s" if n
                                  else "no grids")

    def options(self) -> dict:
        return {"fps": self.fps.value(), "size": self.size_box.value() or None, "start": self.start.value() or None,
                "stop": self.stop.value() or None, "label": self.label.isChecked(), "hold_last": self.hold.value()}

    def preview_array(self, index: int | None = None) -> np.ndarray | None:
        """Frame `index` (default: the scrubber's) exactly as the export writes it."""
        from PIL import Image

        from latentlab.media.timelapse import frame_size, label_text, render_frame

        if not self.grids:
            return None
        step, path = self.grids[self.scrubber.value() if index is None else index]
        with Image.open(path) as im:
            size = frame_size(im.width, im.height, self.size_box.value() or None)
        text = label_text(step, self._epochs.get(step)) if self.label.isChecked() else None
        return np.asarray(render_frame(path, size, text))

    def _show_frame(self, *_) -> None:
        if not self.grids:
            self.view.set_array(None)
            self.frame_label.setText("")
            return
        try:
            arr = self.preview_array()
        except (OSError, ValueError) as exc:
            self.show_error(f"cannot read a grid: {exc}")
            return
        i = self.scrubber.value()
        self.view.set_array(arr, i)
        self.frame_label.setText(f"frame {i + 1} / {len(self.grids)} · step {self.grids[i][0]}")

    def showEvent(self, event) -> None:
        self.refresh()  # a run still training has written more grids since
        super().showEvent(event)

    # -- export -------------------------------------------------------------------------------------------
    def _update_enabled(self, *_) -> None:
        exporting = self.export.running
        self.export_button.setEnabled(bool(self.grids) and not exporting)
        self.cancel_button.setEnabled(exporting)
        self.refresh_button.setEnabled(self.run is not None)

    def choose_export(self) -> None:
        path = ask_video_path(self, "Export the timelapse", "timelapse.mp4")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write the timelapse to `path` on a background thread; False (and a message) if it cannot start."""
        from latentlab.media.timelapse import write_timelapse

        if self.run is None or not self.grids:
            self.show_error("No sample grids to export: pick a run that has written some")
            return False
        run, options = self.run, self.options()
        return self.export.run(path, self.frame_count(), lambda progress, cancel: write_timelapse(
            run, path, progress=progress, cancel=cancel, **options))

    @property
    def exporting(self) -> bool:
        return self.export.running

    @property
    def last_export(self):
        return self.export.last

    def show_error(self, message: str) -> None:
        self.banner.show_message(message.splitlines()[0] if message else "unknown error", "error")
        self.banner.label.setToolTip(message)

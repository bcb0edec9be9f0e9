"""Train › Compare runs: several runs' curves in one plot, and their grids at the same step side by side.

The list holds the Train tab's own run (first, followed as it trains) and any run added from disk,
each with its colour, a check box to show or hide it and Remove. The x axis is the step or the wall
time (training time, paused time excluded); the step slider under the plot picks the grids shown.
Each run is read on a follower thread of its own, like an attached run (parsing the log of a run of
100,000 steps took 1.2 s), and the plot is redrawn at most twice a second while the view is visible.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from latentlab.config import UserError
from latentlab.gui.state.overlay import OverlayRun, RunOverlay
from latentlab.gui.train.follower import RunFollower
from latentlab.gui.widgets.alerts import MessageBanner
from latentlab.gui.widgets.image_view import ImageViewWidget

REDRAW_MS = 500
METRICS = ("gen", "fake", "real", "kl", "llike", "l2_d", "lr_d", "lr_g", "img_per_s")
X_LABELS = {"step": "step", "time": "wall time (s, training only)"}


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class _RunFeed(QObject):
    """Takes what one run's follower thread read into its overlay entry, on the window's thread."""

    def __init__(self, run: OverlayRun, widget: RunOverlayWidget):
        super().__init__(widget)
        self.run, self.widget = run, widget
        self.follower = RunFollower(run.path, parent=self)
        worker = self.follower.worker
        worker.columns_read.connect(self.columns)
        worker.samples_found.connect(self.grids)
        worker.failed.connect(self.failed)
        self.follower.start()

    @Slot(object)
    def columns(self, cols) -> None:
        if self.run.ingest_columns(cols):
            self.widget.data_arrived()

    @Slot(object)
    def grids(self, paths) -> None:
        self.run.add_grids(paths)
        self.widget.data_arrived()

    @Slot(str)
    def failed(self, message: str) -> None:
        self.widget.banner.show_message(message, "error")

    def stop(self) -> None:
        self.follower.stop()
        self.deleteLater()


class RunOverlayWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = RunOverlay()
        self.feeds: dict[str, _RunFeed] = {}  # by run path (str): each run's follower thread
        self._dirty = False
        self.curves: dict[str, pg.PlotDataItem] = {}  # by run path (str)
        self.banner = MessageBanner()
        self.run_list = QListWidget()
        self.run_list.setToolTip("Tick to show a run, untick to hide it")
        self.run_list.itemChanged.connect(self._item_changed)
        self.add_button = QPushButton("Add run…")
        self.add_button.setToolTip("Overlay a run directory from disk (also one still training or written by torchrun)")
        self.add_button.clicked.connect(self.choose_run)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.metric_box = QComboBox()
        self.metric_box.addItems(list(METRICS))
        self.metric_box.currentIndexChanged.connect(self.redraw)
        self.x_axis = QComboBox()
        self.x_axis.addItem("by step", "step")
        self.x_axis.addItem("by wall time", "time")
        self.x_axis.currentIndexChanged.connect(self.redraw)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Runs"))
        side_layout.addWidget(self.run_list, 1)
        side_layout.addLayout(buttons)
        side_layout.addWidget(QLabel("Plot"))
        side_layout.addWidget(self.metric_box)
        side_layout.addWidget(self.x_axis)
        side.setMaximumWidth(260)

        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.18)
        self.plot.addLegend(offset=(-8, 6))
        self.step_slider = QSlider(Qt.Horizontal)
        self.step_slider.setToolTip("The step whose grids are shown below (each run's newest grid at or before it)")
        self.step_slider.valueChanged.connect(self._show_grids)
        self.step_label = QLabel("")
        self.grid_box = QWidget()
        self.grid_layout = QGridLayout(self.grid_box)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_views: list[ImageViewWidget] = []
        self.grid_captions: list[QLabel] = []
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.plot)
        grids = QWidget()
        grids_layout = QVBoxLayout(grids)
        grids_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.step_slider, 1)
        row.addWidget(self.step_label)
        grids_layout.addLayout(row)
        grids_layout.addWidget(self.grid_box, 1)
        right.addWidget(grids)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(side)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self._redraw_if_new)

    # -- runs in and out ---------------------------------------------------------------------------------
    def choose_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a run to the comparison")
        if path:
            self.add_run(path)

    def add_run(self, path) -> bool:
        try:
            run = self.model.add(path)
        except UserError as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self._follow(run)
        self._rebuild()
        return True

    def set_own_run(self, path) -> None:
        """The Train tab's run (being trained or followed) leads the list."""
        before = self.model.own_run()
        try:
            added, dropped = self.model.set_own(path)
        except UserError:
            return  # not a run yet (training has not written its directory): offered again later
        if dropped is not None:
            self._unfollow(dropped)
        if added is not None:
            self._follow(added)
        if self.model.own_run() is not before:
            self._rebuild()

    def remove_selected(self) -> None:
        row = self.run_list.currentRow()
        if 0 <= row < len(self.model.runs):
            run = self.model.runs[row]
            self.model.remove(run)
            self._unfollow(run)
            self._rebuild()

    def _follow(self, run: OverlayRun) -> None:
        self.feeds[str(run.path)] = _RunFeed(run, self)

    def _unfollow(self, run: OverlayRun) -> None:
        feed = self.feeds.pop(str(run.path), None)
        if feed is not None:
            feed.stop()

    def shutdown(self) -> None:
        """Stop and join every run's follower thread (the window is closing)."""
        for feed in self.feeds.values():
            feed.stop()
        self.feeds.clear()
        self.timer.stop()

    def _item_changed(self, item: QListWidgetItem) -> None:
        row = self.run_list.row(item)
        if 0 <= row < len(self.model.runs):
            self.model.runs[row].visible = item.checkState() == Qt.Checked
            self.redraw()

    def data_arrived(self) -> None:
        """A follower brought metrics or grids: drawn at the next redraw tick while the view shows."""
        self._dirty = True

    def _redraw_if_new(self) -> None:
        if self._dirty:
            self._dirty = False
            self.redraw()

    # -- drawing -----------------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self.run_list.blockSignals(True)
        self.run_list.clear()
        for run in self.model.runs:
            item = QListWidgetItem(_swatch(run.color), run.name + ("  (this tab's run)" if run.own else ""))
            item.setToolTip(str(run.path))
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if run.visible else Qt.Unchecked)
            self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        for item in self.curves.values():
            self.plot.removeItem(item)
        self.curves = {}
        for run in self.model.runs:
            self.curves[str(run.path)] = self.plot.plot(pen=pg.mkPen(run.color, width=1.6), name=run.name,
                                                        connect="finite")
        self.redraw()

    def redraw(self, *_) -> None:
        key, x_axis = self.metric_box.currentText(), self.x_axis.currentData()
        for run in self.model.runs:
            curve = self.curves[str(run.path)]
            curve.setVisible(run.visible)
            x, y = run.xy(key, x_axis)
            curve.setData(x, y) if run.visible and len(x) else curve.setData([], [])
        self.plot.setLabel("bottom", X_LABELS[x_axis])
        self.plot.setLabel("left", key)
        last = self.model.last_step()
        at_end = self.step_slider.value() >= self.step_slider.maximum()
        self.step_slider.setRange(0, last)
        if at_end:
            self.step_slider.setValue(last)  # following the newest grids until the user scrubs back
        self._show_grids()

    def _show_grids(self, *_) -> None:
        step = self.step_slider.value()
        shown = [r for r in self.model.runs if r.visible]
        while len(self.grid_views) < len(shown):
            view, caption = ImageViewWidget("no grid yet", minimum=96), QLabel()
            caption.setAlignment(Qt.AlignCenter)
            column = len(self.grid_views)
            self.grid_layout.addWidget(view, 0, column)
            self.grid_layout.addWidget(caption, 1, column)
            self.grid_views.append(view)
            self.grid_captions.append(caption)
        for i, (view, caption) in enumerate(zip(self.grid_views, self.grid_captions)):
            visible = i < len(shown)
            view.setVisible(visible)
            caption.setVisible(visible)
            if not visible:
                continue
            run = shown[i]
            found = run.grid_at(step)
            view.set_array(_read_png(found[1]) if found else None)
            caption.setText(f"<span style='color:{run.color}'>■</span> {run.name}"
                            + (f" · step {found[0]}" if found else ""))
        self.step_label.setText(f"step {step}")

    def shown_grids(self) -> list[np.ndarray | None]:
        """What the grid row shows, run by run (for tests and screenshots)."""
        shown = [r for r in self.model.runs if r.visible]
        return [v.array() for v in self.grid_views[: len(shown)]]

    def showEvent(self, event) -> None:
        self.timer.start()
        self._redraw_if_new()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self.timer.stop()
        super().hideEvent(event)


def _read_png(path) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        return None

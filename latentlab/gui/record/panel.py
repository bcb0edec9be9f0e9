"""The Record panel: build a keyframe list, preview the latent walk in the window, export it as a video.

It draws with the Explore panel's model (it follows model_changed) through that model's Renderer,
which serialises calls with its own lock, so preview and export share it with the Explore view.
Thumbnails, the preview frames and the export run on background threads; the export reports
progress through a queued signal and stops at the next batch when cancelled (write_walk then removes
the partial file).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab import latent  # its torch-using parts load on first use, after the window shows
from latentlab.config import UserError
from latentlab.gui.background import run_in_background
from latentlab.gui.record.export import RecordExportMixin
from latentlab.gui.record.keyframes import KeyframeList
from latentlab.gui.record.options import build_options
from latentlab.gui.widgets.alerts import MessageBanner
from latentlab.gui.widgets.image_view import ImageViewWidget

PREVIEW_MAX_FRAMES = 600  # longer walks preview every k-th frame (memory and render time stay small)


class RecordPanel(RecordExportMixin, QWidget):
    export_progress = Signal(int, int)  # frames done, total (emitted on the export thread, queued here)

    def __init__(self, window=None, explore=None, parent=None):
        super().__init__(parent)
        self.explore = explore if explore is not None else getattr(window, "explore_panel", None)
        self.renderer = None
        self.has_encoder = False
        self.preview_stride = 1
        self.preview_frames: np.ndarray | None = None  # uint8 (F, S, S, 3)
        self.frame = 0
        self._preview_gen = 0  # results of older preview jobs are dropped
        self._preview_busy = False
        self._export_thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.last_export = None  # WalkResult of the last finished export
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._next_frame)
        self._build_ui()
        self._build_actions()
        self.export_progress.connect(self._progress)
        self.keys.changed.connect(self._walk_changed)
        self.keys.added.connect(self._render_thumbnails)
        self.setFocusPolicy(Qt.ClickFocus)
        if self.explore is not None:
            self.explore.model_changed.connect(self.set_model)
            self.explore.model_relabeled.connect(self._show_model_label)
            if self.explore.info is not None:
                self.set_model(self.explore.info)
        self._update_enabled()

    # -- construction -------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.banner = MessageBanner()
        self.model_label = QLabel("No model: open one in the Explore panel")
        self.model_label.setObjectName("heading")

        self.keys = KeyframeList()
        self.add_current = QPushButton("Current latent")
        self.add_current.setToolTip("Add the face on the Explore panel (Ctrl+K)")
        self.add_current.clicked.connect(self.add_current_latent)
        self.add_bookmark_button = QToolButton(text="Bookmark ▾")
        self.add_bookmark_button.setPopupMode(QToolButton.InstantPopup)
        self.bookmark_menu = QMenu(self)
        self.bookmark_menu.aboutToShow.connect(self._fill_bookmarks)
        self.add_bookmark_button.setMenu(self.bookmark_menu)
        self.add_bookmark_button.setToolTip("Add one of the Explore panel's bookmarks")
        self.seed_count = QSpinBox(minimum=1, maximum=64, value=4, toolTip="How many random faces to add")
        self.seed_start = QSpinBox(minimum=0, maximum=2**31 - 1, value=0,
                                   toolTip="First seed; seeds n, n+1, … are added and the next click continues")
        self.add_seeds = QPushButton("Random")
        self.add_seeds.setToolTip("Add N random faces from consecutive seeds (same seeds as `latentlab walk --seeds`)")
        self.add_seeds.clicked.connect(lambda: self.add_random(self.seed_count.value(), self.seed_start.value()))
        self.add_photo_button = QPushButton("Photo…")
        self.add_photo_button.setToolTip("Encode a photo with the VAE/GAN's encoder and add its latent")
        self.add_photo_button.clicked.connect(self.choose_photo)
        self.add_encoded = QPushButton("Encoded photo")
        self.add_encoded.setToolTip("Add the photo encoded in the Explore panel's Reconstruction box")
        self.add_encoded.clicked.connect(self.add_explore_photo)
        add_row1 = QHBoxLayout()
        for w in (self.add_current, self.add_bookmark_button, self.add_photo_button, self.add_encoded):
            add_row1.addWidget(w)
        add_row2 = QHBoxLayout()
        add_row2.addWidget(self.add_seeds)
        add_row2.addWidget(self.seed_count)
        add_row2.addWidget(QLabel("from seed"))
        add_row2.addWidget(self.seed_start, 1)
        key_box = QGroupBox("Keyframes")
        key_layout = QVBoxLayout(key_box)
        key_layout.addLayout(add_row1)
        key_layout.addLayout(add_row2)
        key_layout.addWidget(self.keys, 1)

        options = build_options(self)

        self.view = ImageViewWidget("Add two or more keyframes to preview the walk", minimum=240)
        self.view.set_smooth(True)  # a 32-64 px face blown up with nearest reads as a mosaic
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play or pause the preview (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.preview_label = QLabel("")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the walk as MP4, WebM, GIF or PNG frames (Ctrl+E)")
        self.export_button.clicked.connect(self.choose_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.preview_label, 1)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.progress, 1)
        export_row.addWidget(self.cancel_button)
        self.export_label = QLabel("")
        self.export_label.setWordWrap(True)
        self.export_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        preview_box = QGroupBox("Preview (model resolution, first grid cell)")
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self.view, 1)
        pv.addLayout(controls)

        left = QVBoxLayout()
        left.addWidget(key_box, 3)
        left.addWidget(options, 0)
        right = QVBoxLayout()
        right.addWidget(preview_box, 1)
        right.addLayout(export_row)
        right.addWidget(self.export_label)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.model_label)
        layout.addLayout(body, 1)

    def _action(self, text: str, shortcut: str, slot, context=Qt.WidgetWithChildrenShortcut) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(context)  # single keys only while this panel has the focus
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.export_action = self._action("Export walk…", "Ctrl+E", self.choose_export)
        self.play_action = self._action("Play / pause preview", "Space", self.toggle_play)
        self.add_current_action = self._action("Add current latent", "Ctrl+K", self.add_current_latent)
        self.remove_action = self._action("Remove keyframe", "Delete", self.keys.remove_selected)
        self.up_action = self._action("Move keyframe up", "Ctrl+Up", lambda: self.keys.move_selected(-1))
        self.down_action = self._action("Move keyframe down", "Ctrl+Down", lambda: self.keys.move_selected(1))
        self.cancel_action = self._action("Cancel export", "Esc", self.cancel_export)

    def menu_actions(self) -> tuple[str, list[QAction]]:
        return "&Record", [self.add_current_action, self.remove_action, self.up_action, self.down_action,
                           self.play_action, self.export_action, self.cancel_action]

    # -- messages --------------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.banner.show_message(message.splitlines()[0] if message else "unknown error", "error")
        self.banner.label.setToolTip(message)

    def show_note(self, message: str) -> None:
        self.banner.show_message(message, "info")

    # -- the model ---------------------------------------------------------------------------------------
    def set_model(self, info) -> None:
        old_dim = self.renderer.latent_dim if self.renderer is not None else None
        self.renderer = info.renderer
        self.has_encoder = bool(getattr(info, "has_encoder", False))
        self._show_model_label(info)
        if old_dim is not None and old_dim != self.renderer.latent_dim and self.keys.count():
            self.keys.clear()
            self.show_note(f"The keyframes were cleared: the new model's latents have {self.renderer.latent_dim} "
                           f"dimensions, the old one's {old_dim}")
        self._render_thumbnails(self.keys.keys())
        self._update_enabled()
        self._walk_changed()

    def _show_model_label(self, info) -> None:
        self.model_label.setText(f"Model: {info.display_label()}")

    def _update_enabled(self) -> None:
        have = self.renderer is not None
        exporting = self._export_thread is not None
        encoder = have and self.has_encoder
        for w in (self.add_current, self.add_bookmark_button, self.add_seeds):
            w.setEnabled(have)
        self.add_photo_button.setEnabled(encoder)
        self.add_encoded.setEnabled(encoder)
        self.export_button.setEnabled(have and self.keys.count() > 0 and not exporting)
        self.export_action.setEnabled(not exporting)
        self.cancel_button.setEnabled(exporting)
        self.cancel_action.setEnabled(exporting)
        self.play_button.setEnabled(have and self.keys.count() > 1)

    # -- keyframes ------------------------------------------------------------------------------------------
    def _check_dim(self, z) -> np.ndarray | None:
        z = np.asarray(z, np.float32).reshape(-1)
        if self.renderer is None:
            self.show_error("Open a model in the Explore panel first")
            return None
        if z.size != self.renderer.latent_dim:
            self.show_error(f"that latent has {z.size} dimensions; this model's have {self.renderer.latent_dim}")
            return None
        return z

    def add_latent(self, z, label: str) -> int | None:
        z = self._check_dim(z)
        return None if z is None else self.keys.add(z, label)

    def add_current_latent(self) -> None:
        if self.explore is None or self.explore.info is None:
            self.show_error("Open a model in the Explore panel first")
            return
        source = self.explore.state.source or "current latent"
        label = source if self.explore.state.is_pure_seed() else f"edited {source}"
        self.add_latent(self.explore.current_latent(), label)

    def _fill_bookmarks(self) -> None:
        self.bookmark_menu.clear()
        marks = list(self.explore.bookmarks.bookmarks) if self.explore is not None else []
        if not marks:
            self.bookmark_menu.addAction("No bookmarks (Ctrl+B on the Explore panel)").setEnabled(False)
        for mark in marks:
            self.bookmark_menu.addAction(mark.name, lambda m=mark: self.add_bookmark(m))

    def add_bookmark(self, mark) -> None:
        self.add_latent(mark.z, f"bookmark “{mark.name}”")

    def add_random(self, count: int, first_seed: int) -> None:
        if self.renderer is None:
            self.show_error("Open a model in the Explore panel first")
            return
        for s in range(first_seed, first_seed + count):
            self.keys.add(latent.seed_latent(s, self.renderer.latent_dim), f"seed {s}")
        self.seed_start.setValue(first_seed + count)  # the next click adds new faces

    def add_explore_photo(self) -> None:
        photo = getattr(self.explore.state, "photo", None) if self.explore is not None else None
        if photo is None:
            self.show_error("No encoded photo: open one in the Explore panel's Reconstruction box, or use Photo…")
            return
        self.add_latent(photo["z"], f"photo {photo.get('name', '')}".strip())

    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Encode a photo", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.add_photo(path)

    def add_photo(self, path: str | Path) -> None:
        """Encode a photo file (cropped like the model's data) on a background thread and add its latent."""
        if self.renderer is None or not self.has_encoder:
            self.show_error(f"{path}: only a VAE/GAN has an encoder; open one in the Explore panel")
            return
        from latentlab.gui.models.loading import load_photo_for

        info, renderer = self.explore.info, self.renderer

        def job():
            result = renderer.encode(load_photo_for(info, path))
            if not result.ok:
                raise UserError(f"{path}: {result.error}")
            return result.z[0]

        def done(z, error):
            if error:
                self.show_error(error)
            elif renderer is self.renderer:
                self.add_latent(z, f"photo {Path(path).name}")

        run_in_background(job, done)

    def _render_thumbnails(self, keys: list[int]) -> None:
        if self.renderer is None or not keys:
            return
        renderer = self.renderer
        zs = np.stack([self.keys.latent(k) for k in keys])

        def done(images, error):
            if error:
                self.show_error(error)
            elif renderer is self.renderer:
                for key, image in zip(keys, images):
                    self.keys.set_thumbnail(key, image)

        run_in_background(lambda: renderer.render_uint8(zs), done)

    # -- the walk and its preview ------------------------------------------------------------------------
    def walk_frames(self) -> int:
        n = self.keys.count()
        return latent.walk_length(n, self.frames.value(), self.loop.isChecked()) if n else 0

    def _walk_changed(self, *_) -> None:
        self._update_enabled()
        total = self.walk_frames()
        self.length_label.setText(f"{total} frames · {total / self.fps.value():.1f} s" if total else "no keyframes")
        self._preview_gen += 1
        if self.renderer is None or self.keys.count() < 2:
            self.stop()
            self.preview_frames = None
            self.view.set_array(None)
            self.preview_label.setText("")
            return
        self._request_preview()

    def _fps_changed(self, *_) -> None:
        self._walk_changed()
        if self.timer.isActive():
            self.timer.start(int(1000 / self.fps.value()))

    def _request_preview(self) -> None:
        gen, renderer = self._preview_gen, self.renderer
        kf, n = self.keys.keyframes(), self.frames.value()
        interp, ease, loop, psi = self.interp.currentText(), self.ease.currentText(), self.loop.isChecked(), \
            self.truncation.value()
        self._preview_busy = True
        self.preview_label.setText("rendering preview…")

        def job():
            z = latent.walk_path(kf, n, interp, ease, loop)
            stride = -(-len(z) // PREVIEW_MAX_FRAMES)
            return renderer.render_uint8(latent.truncate(z[::stride], psi)), stride

        def done(result, error):
            if gen != self._preview_gen:
                return  # the walk changed meanwhile; a newer preview is on its way
            self._preview_busy = False
            if error:
                self.show_error(error)
                return
            self.preview_frames, self.preview_stride = result
            self.frame = min(self.frame, len(self.preview_frames) - 1)
            self._show_frame()

        run_in_background(job, done)

    def _show_frame(self) -> None:
        if self.preview_frames is None:
            return
        self.view.set_array(self.preview_frames[self.frame], self.frame)
        every = f" (every {self.preview_stride}th)" if self.preview_stride > 1 else ""
        self.preview_label.setText(f"frame {self.frame * self.preview_stride + 1} / {self.walk_frames()}{every}")

    def _next_frame(self) -> None:
        if self.preview_frames is None:
            return
        self.frame = (self.frame + 1) % len(self.preview_frames)
        self._show_frame()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.stop()
        elif self.keys.count() > 1 and self.renderer is not None:
            self.timer.start(int(1000 / self.fps.value()))
            self.play_button.setText("Pause")

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    # -- window hooks -------------------------------------------------------------------------------------------
    def hideEvent(self, event) -> None:
        self.stop()  # no preview frames painted on a hidden tab
        super().hideEvent(event)

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        self.stop()
        thread = self._export_thread
        if thread is None:
            return True
        self._cancel.set()  # write_walk removes the partial file at its next batch
        thread.join(timeout_s)
        return not thread.is_alive()

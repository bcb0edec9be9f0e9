"""The Record panel: build a keyframe list, preview the latent walk in the window, export it as a video.

It draws with the model on screen (the Workspace's, which the Explore panel loads) through that
model's Renderer, which serialises calls with its own lock, so preview and export share it with the
Explore view. The face on screen, the bookmarks and the encoded photo come from the Workspace too, and
its Timelapse follows the Workspace's run.
The panel keeps the keyframe list and the options; the preview (preview.WalkPreview) and the export
(export.WalkExport) are its collaborators. Thumbnails, the preview frames and the export run on
background threads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab import latent  # its torch-using parts load on first use, after the window shows
from latentlab.config import UserError
from latentlab.gui.background import run_in_background
from latentlab.gui.record.export import WalkExport, ask_video_path
from latentlab.gui.record.keyframes import THUMB, KeyframeList
from latentlab.gui.record.options import build_options
from latentlab.gui.record.preview import WalkPreview
from latentlab.gui.record.timelapse import TimelapseWidget
from latentlab.gui.state.loading import MODEL, WEIGHTS
from latentlab.gui.state.workspace import RUN, TRAINING, Workspace
from latentlab.gui.widgets.alerts import MessageBanner


class RecordPanel(QWidget):
    def __init__(self, workspace: Workspace | None = None, parent=None):
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace()
        self.renderer = None
        self.has_encoder = False
        self.preview = WalkPreview(self)
        self.export = WalkExport(self)
        self.preview.failed.connect(self.show_error)
        self.export.failed.connect(self.show_error)
        self.export.running_changed.connect(self._update_enabled)
        self._build_ui()
        self._build_actions()
        self.keys.changed.connect(self._walk_changed)
        self.keys.added.connect(self._render_thumbnails)
        self.setFocusPolicy(Qt.ClickFocus)
        self.workspace.model.changed.connect(self._model_changed)
        self.workspace.changed.connect(self._workspace_changed)
        if self.workspace.model.info is not None:
            self.set_model(self.workspace.model.info)
        self._workspace_changed(frozenset({RUN}))
        self._update_enabled()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # A launch that opens on this tab needs the default model without a visit to Explore.
        if self.workspace.model.info is None:
            self.workspace.model_wanted.emit()

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
        self.add_photo_button.setToolTip("Add a photo's latent: a VAE/GAN's encoder finds it, any other model's "
                                         "projection")
        self.add_photo_button.clicked.connect(self.choose_photo)
        self.add_encoded = QPushButton("Explore's photo")
        self.add_encoded.setToolTip("Add the photo found in the Explore panel (File › Open photo…)")
        self.add_encoded.clicked.connect(self.add_explore_photo)
        add_row1 = QHBoxLayout()
        for w in (self.add_current, self.add_bookmark_button, self.add_photo_button, self.add_encoded):
            add_row1.addWidget(w)
        from latentlab.gui.record.along import build_button

        self.add_along = build_button(self)
        add_row2 = QHBoxLayout()
        add_row2.addWidget(self.add_along)
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

        self.view, self.play_button = self.preview.view, self.preview.play_button
        self.play_button.clicked.connect(self.toggle_play)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the walk as MP4, WebM, GIF or PNG frames (Ctrl+E)")
        self.export_button.clicked.connect(self.choose_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.export.cancel)
        self.progress, self.export_label = self.export.progress, self.export.label
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.preview.label, 1)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.progress, 1)
        export_row.addWidget(self.cancel_button)
        preview_box = QGroupBox("Preview (model resolution, first grid cell)")
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self.view, 1)
        pv.addLayout(controls)

        column = QWidget()
        left = QVBoxLayout(column)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(key_box, 3)
        left.addWidget(options, 0)
        # In a short window the column scrolls, so the keyframe list keeps three rows in sight
        # instead of being squeezed under the options.
        self.keys.list.setMinimumHeight(3 * (THUMB + 4) + 8)
        left_scroll = QScrollArea()
        left_scroll.setWidget(column)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(
            column.minimumSizeHint().width()
            + left_scroll.verticalScrollBar().sizeHint().width())
        right = QVBoxLayout()
        right.addWidget(preview_box, 1)
        right.addLayout(export_row)
        right.addWidget(self.export_label)
        body = QHBoxLayout()
        body.addWidget(left_scroll, 2)
        body.addLayout(right, 3)
        walk_page = QWidget()
        walk_layout = QVBoxLayout(walk_page)
        walk_layout.setContentsMargins(0, 0, 0, 0)
        walk_layout.addWidget(self.model_label)
        walk_layout.addLayout(body, 1)
        self.timelapse = TimelapseWidget()
        self.modes = QTabWidget()
        self.modes.addTab(walk_page, "Latent walk")
        self.modes.addTab(self.timelapse, "Timelapse")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.modes, 1)

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
        self.cancel_action = self._action("Cancel export", "Esc", self.export.cancel)

    def menu_actions(self) -> tuple[str, list[QAction]]:
        return "&Record", [self.add_current_action, self.remove_action, self.up_action, self.down_action,
                           self.play_action, self.export_action, self.cancel_action]

    def file_actions(self) -> list[QAction]:
        return []

    def status_widget(self) -> None:
        return None

    def drop_path(self, path: str | Path) -> bool:
        return False

    def remember_choices(self) -> None:
        pass  # nothing kept between sessions: a walk is built anew for each model

    def restore_choices(self) -> None:
        pass

    # -- what the Workspace announces ----------------------------------------------------------------
    def _model_changed(self, aspects: frozenset) -> None:
        info = self.workspace.model.info
        if MODEL in aspects:
            self.set_model(info)
        elif WEIGHTS in aspects:
            self._show_model_label(info)

    def _workspace_changed(self, aspects: frozenset) -> None:
        run = self.workspace.run_dir
        if aspects & {RUN, TRAINING} and run is not None and run != self.timelapse.run:
            self.timelapse.set_run(run)  # the run the Train tab trains or follows

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
        self.has_encoder = info.has_encoder
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

    def _update_enabled(self, *_) -> None:
        have = self.renderer is not None
        exporting = self.export.running
        for w in (self.add_current, self.add_bookmark_button, self.add_seeds, self.add_along):
            w.setEnabled(have)
        self.add_photo_button.setEnabled(have)  # any model: an encoder, or else a projection
        self.add_encoded.setEnabled(have)
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
        if self.workspace.model.info is None:
            self.show_error("Open a model in the Explore panel first")
            return
        face = self.workspace.explore
        self.add_latent(face.edited(), face.label() or "current latent")

    def _fill_bookmarks(self) -> None:
        self.bookmark_menu.clear()
        marks = list(self.workspace.bookmarks)
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
        photo = self.workspace.photo
        if photo is None:
            self.show_error("No photo in the Explore panel: open one with File › Open photo…, or use Photo…")
            return
        self.add_latent(photo["z"], f"photo {photo.get('name', '')}".strip())

    def choose_photo(self) -> None:
        from latentlab.gui.settings import last_folder, remember_folder

        path, _ = QFileDialog.getOpenFileName(self, "A photo as a keyframe", last_folder("photo"),
                                              "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            remember_folder("photo", path)
            self.add_photo(path)

    def add_photo(self, path: str | Path) -> None:
        """A photo file's latent as a keyframe, found on a background thread: a VAE/GAN encodes it
        (cropped like the model's data), any other model finds its aligned face by projection."""
        if self.renderer is None:
            self.show_error("Open a model in the Explore panel first")
            return
        from latentlab.gui.state.loading import load_photo_for

        info, renderer, encoder = self.workspace.model.info, self.renderer, self.has_encoder

        def job():
            if not encoder:
                from latentlab.inference.photo import model_convention, prepare_photo, project

                prepared = prepare_photo(path, model_convention(renderer), renderer.image_size)
                return project(renderer.G, prepared.aligned).z
            result = renderer.encode(load_photo_for(info, path))
            if not result.ok:
                raise UserError(f"{path}: {result.error}")
            return result.z[0]

        if not encoder:
            self.show_note(f"Finding {Path(path).name} in the latent space (projection: a few seconds)…")

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
        if self.renderer is None or self.keys.count() < 2:
            self.preview.clear()
            return
        self.preview.render(self.renderer, self.keys.keyframes(), self.frames.value(), self.interp.currentText(),
                            self.ease.currentText(), self.loop.isChecked(), self.truncation.value(), total)

    def _fps_changed(self, *_) -> None:
        self._walk_changed()
        self.preview.set_fps(self.fps.value())

    def toggle_play(self) -> None:
        if self.preview.playing:
            self.stop()
        elif self.keys.count() > 1 and self.renderer is not None:
            self.preview.play(self.fps.value())

    def stop(self) -> None:
        self.preview.stop()

    @property
    def playing(self) -> bool:
        return self.preview.playing

    @property
    def preview_frames(self) -> np.ndarray | None:
        return self.preview.frames

    @property
    def frame(self) -> int:
        return self.preview.frame

    @frame.setter
    def frame(self, index: int) -> None:
        self.preview.frame = index

    # -- export ---------------------------------------------------------------------------------------------
    def choose_export(self) -> None:
        self.workspace.show(self)
        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return
        path = ask_video_path(self, "Export the walk", "walk.mp4")
        if path:
            self.export_to(path)

    def export_options(self) -> dict:
        rows, cols = self.rows.value(), self.cols.value()
        kf = self.keys.keyframes()
        if rows * cols > 1:  # the other cells walk seeded random faces through as many keyframes
            others = latent.grid_keyframes(1, rows * cols, len(kf), kf.shape[1], self.seed_start.value())
            kf = np.concatenate([kf[None], others[1:]])
        return {"keyframes": kf, "frames": self.frames.value(), "fps": self.fps.value(),
                "interp": self.interp.currentText(), "ease": self.ease.currentText(), "loop": self.loop.isChecked(),
                "size": self.size_box.value() or None, "upscale": self.upscale.currentText(), "grid": (rows, cols),
                "truncation": self.truncation.value()}

    def export_to(self, path: str | Path) -> bool:
        """Write the walk to `path` on a background thread; False (and a message) if it cannot start."""
        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return False
        return self.export.start(self.renderer, path, self.export_options(), self.walk_frames())

    @property
    def exporting(self) -> bool:
        return self.export.running

    @property
    def last_export(self):
        return self.export.last

    # -- window hooks -------------------------------------------------------------------------------------------
    def hideEvent(self, event) -> None:
        self.stop()  # no preview frames painted on a hidden tab
        super().hideEvent(event)

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        self.stop()
        return self.timelapse.export.shutdown(timeout_s) and self.export.shutdown(timeout_s)

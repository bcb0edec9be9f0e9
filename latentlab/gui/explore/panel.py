"""The Explore panel: a large generator view driven by latent sliders, directions, keyframes and photos.

Widgets write into an ExploreState (no Qt) and ask the RenderService for pictures; every render,
encode and model load happens on the render worker's thread, principal directions on their own.
Models come from File › Open checkpoint, a drop, `latentlab gui CKPT`, File › Import PyTorch DCGAN,
the run in the Train panel, or the embedded demo (opened the first time the panel is shown).
"""

from __future__ import annotations

import random
import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui import settings as app_settings
from latentlab.gui.explore.bookmarks import BookmarksWidget
from latentlab.gui.explore.controls import ViewControlsWidget
from latentlab.gui.explore.directions import DirectionsPageWidget
from latentlab.gui.explore.io import ExploreIOMixin
from latentlab.gui.explore.keyframes import KeyframesWidget
from latentlab.gui.explore.live import FollowTrainingWidget, LiveGeneratorFeed, TrainingLink
from latentlab.gui.explore.recon import ReconstructionWidget
from latentlab.gui.explore.render_worker import RenderService
from latentlab.gui.explore.sliders import SliderBankWidget
from latentlab.gui.models.explore_state import ExploreState
from latentlab.gui.widgets.alerts import MessageBanner
from latentlab.gui.widgets.image_view import ImageViewWidget


class ExplorePanel(ExploreIOMixin, QWidget):
    model_changed = Signal(object)  # ModelInfo now on screen (the Record panel may follow it)
    latent_changed = Signal()  # the latent on screen changed

    def __init__(self, window=None, parent=None):
        super().__init__(parent)
        self.state = ExploreState(0)
        self.info = None  # ModelInfo on screen
        self.shown_id = -1  # newest view request on screen
        self.strip_id = -1
        self.last_request = -1
        self._encode_purpose: dict[int, tuple] = {}
        self._asked_at: dict[int, float] = {}  # view request id -> perf_counter() when asked
        self._render_ms = 0.0
        self.demo_on_first_show = True  # the embedded demo opens when the panel is first shown
        self.service = RenderService(self)
        self.live_feed = LiveGeneratorFeed()
        self.link = TrainingLink(self.live_feed, self)
        self._build_ui()
        self._build_actions()
        self._connect()
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.ClickFocus)
        if window is not None:
            self.connect_window(window)

    # -- construction -------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.banner = MessageBanner()
        self.model_label = QLabel("No model loaded")
        self.model_label.setObjectName("heading")
        self.model_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.follow = FollowTrainingWidget()
        self.view = ImageViewWidget("Open a checkpoint (File › Open checkpoint…), drop one here, or import a "
                                    "PyTorch DCGAN (File › Import…)", minimum=200)
        self.view.setToolTip("The generator's image of the current latent")

        self.controls = ViewControlsWidget()
        self.seed = self.controls.seed

        self.keyframes = KeyframesWidget(lambda: self.bookmarks.bookmarks)
        key_box = QGroupBox("Keyframes")
        QVBoxLayout(key_box).addWidget(self.keyframes)
        self.recon = ReconstructionWidget()
        recon_box = QGroupBox("Reconstruction")
        QVBoxLayout(recon_box).addWidget(self.recon)
        lower = QSplitter(Qt.Horizontal)
        lower.addWidget(key_box)
        lower.addWidget(recon_box)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 6, 4, 6)
        left_layout.addWidget(self.banner)
        top = QHBoxLayout()
        top.addWidget(self.model_label, 1)
        top.addWidget(self.follow)
        left_layout.addLayout(top)
        self.left_split = QSplitter(Qt.Vertical)
        view_box = QWidget()
        view_layout = QVBoxLayout(view_box)
        view_layout.setContentsMargins(0, 0, 0, 0)
        view_layout.addWidget(self.view, 1)
        view_layout.addWidget(self.controls)
        self.left_split.addWidget(view_box)
        self.left_split.addWidget(lower)
        self.left_split.setStretchFactor(0, 5)
        self.left_split.setStretchFactor(1, 2)
        lower.setSizes([420, 520])
        left_layout.addWidget(self.left_split, 1)

        self.dims = SliderBankWidget(-4.0, 4.0, "Load a model to see its latent dimensions")
        self.directions = DirectionsPageWidget()
        self.principal = self.directions.bank
        self.attributes = SliderBankWidget(-3.0, 3.0, "This model has no attribute vectors")
        self.bookmarks = BookmarksWidget()
        self.tabs = QTabWidget()
        self.tabs.setStyleSheet("QTabBar::tab { padding: 6px 10px; }")  # four tabs fit a narrow column
        self.tabs.addTab(self.dims, "Latent")
        self.tabs.addTab(self.directions, "Directions")
        self.tabs.addTab(self.attributes, "Attributes")
        self.tabs.addTab(self.bookmarks, "Bookmarks")
        self.main_split = QSplitter(Qt.Horizontal)
        self.main_split.addWidget(left)
        self.main_split.addWidget(self.tabs)
        self.main_split.setStretchFactor(0, 3)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setSizes([1000, 430])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main_split)
        self.status = QLabel("render – ms")
        self.status.setToolTip("Explore panel: the generator's time for the last picture, and the time from the "
                               "slider move to its pixels on screen")

    def _action(self, text: str, shortcut, slot, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self, checkable=checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            # Single keys act only while the Explore panel has the focus, not while typing on the Train panel.
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.randomize_action = a("Randomize", "R", lambda: self.randomize(), "A new random face (R)")
        self.reset_action = a("Reset sliders", "Ctrl+R", self.reset, "Undo every edit of this latent")
        self.bookmark_action = a("Bookmark this latent", "Ctrl+B", lambda: self.add_bookmark())
        self.set_a_action = a("Set keyframe A", "A", lambda: self.set_keyframe_from("A", "current"))
        self.set_b_action = a("Set keyframe B", "B", lambda: self.set_keyframe_from("B", "current"))
        self.go_a_action = a("Go to keyframe A", "Shift+A", lambda: self.go_between(0.0))
        self.go_b_action = a("Go to keyframe B", "Shift+B", lambda: self.go_between(1.0))
        self.open_photo_action = a("Open photo to reconstruct…", "Ctrl+Shift+O", self.choose_photo)
        self.save_view_action = a("Save view as PNG…", "Ctrl+Shift+S", self.choose_save_view)
        self.copy_action = a("Copy view", "Ctrl+Shift+C", self.copy_view, "Copy the view to the clipboard")
        self.smooth_action = a("Smooth scaling", "S", lambda on: self.controls.smooth.setChecked(on),
                               checkable=True)
        self.refresh_action = a("Refresh live generator", "F5", self.link.refresh)
        self.nearest_action = a("Nearest training images…", "Ctrl+Shift+N", self.show_nearest,
                                "Memorization check: the training images closest to the face on screen")
        self.import_action = QAction("Import PyTorch DCGAN netG.pth…", self, triggered=self.choose_dcgan)
        self.import_action.setToolTip("Explore a generator trained with the PyTorch DCGAN example or tutorial")
        self.refresh_action.setEnabled(False)  # until Follow training is on

    def menu_actions(self) -> tuple[str, list[QAction]]:
        return "&Explore", [self.randomize_action, self.reset_action, self.bookmark_action, self.set_a_action,
                            self.set_b_action, self.go_a_action, self.go_b_action, self.open_photo_action,
                            self.save_view_action, self.copy_action, self.smooth_action, self.refresh_action,
                            self.nearest_action]

    def show_nearest(self) -> None:
        image = self.view.array()
        if image is None or self.info is None:
            return
        from latentlab.gui.widgets.nearest import show_nearest_training_images

        show_nearest_training_images(image, self.info, parent=self)

    def file_actions(self) -> list[QAction]:
        return [self.import_action]  # File › Open checkpoint… is the window's; it hands checkpoints here

    def status_widget(self) -> QWidget:
        return self.status

    def _connect(self) -> None:
        w = self.service.worker
        # Bound methods of this widget: Qt queues each call from the render thread onto the GUI thread.
        w.image_ready.connect(self._image_ready)
        self.view.painted.connect(self._painted)
        w.strip_ready.connect(self._strip_ready)
        w.encoded.connect(self._encoded)
        w.model_loaded.connect(self._model_loaded)
        w.weights_swapped.connect(self._weights_swapped)
        w.failed.connect(self._failed)
        self.directions.directions_changed.connect(self._directions_changed)
        self.directions.amount_changed.connect(self._principal_changed)
        self.live_feed.generator_offered.connect(self._live_offered)
        self.link.fetch_checkpoint.connect(self._live_checkpoint)
        self.link.availability_changed.connect(self.follow.set_available)
        self.follow.follow_changed.connect(self._follow_changed)
        self.follow.every.valueChanged.connect(self.link.set_every)
        self.follow.refresh_requested.connect(self.link.refresh)

        self.controls.randomize_clicked.connect(lambda: self.randomize())
        self.controls.seed_chosen.connect(lambda seed: self.randomize(seed))
        self.controls.reset_clicked.connect(self.reset)
        self.controls.psi_changed.connect(self._psi_changed)
        self.controls.smooth_toggled.connect(self._smooth_changed)
        self.dims.value_changed.connect(self._dim_changed)
        self.dims.reset_requested.connect(self._dim_reset)
        self.attributes.value_changed.connect(self._attribute_changed)
        self.attributes.reset_requested.connect(lambda i: self.attributes.set_value(i, 0.0) or
                                                self._attribute_changed(i, 0.0))
        self.keyframes.keyframe_requested.connect(self.set_keyframe_from)
        self.keyframes.keyframe_bookmark.connect(lambda w_, b: self.set_keyframe(w_, b.z, f"bookmark “{b.name}”"))
        self.keyframes.position_changed.connect(self._position_changed)
        self.keyframes.mode_changed.connect(self._mode_changed)
        self.bookmarks.add_requested.connect(lambda: self.add_bookmark())
        self.bookmarks.show_requested.connect(self.show_bookmark)
        self.bookmarks.keyframe_requested.connect(lambda w_, b: self.set_keyframe(w_, b.z, f"bookmark “{b.name}”"))
        self.bookmarks.failed.connect(self.show_error)
        self.recon.open_requested.connect(self.choose_photo)
        self.recon.training_image_requested.connect(self.encode_training_image)
        self.recon.edit_again_requested.connect(self._edit_photo_again)

    def connect_window(self, window) -> None:
        """Hook into the main window: its File › Open checkpoint / `latentlab gui CKPT`, and the Train panel."""
        if hasattr(window, "checkpoint_opened"):
            window.checkpoint_opened.connect(self.open_checkpoint_and_show)
        if hasattr(window, "train_panel"):
            self.link.connect_panel(window.train_panel)

    def set_training_active(self, active: bool) -> None:
        """The window says whether a training is running (renders then use one core, else all)."""
        self.service.worker.set_training_active(active)

    # -- rendering ------------------------------------------------------------------------------------
    def _request_view(self) -> None:
        if self.info is None:
            return
        self.last_request = self.service.render(self.state.latent())
        self._asked_at[self.last_request] = time.perf_counter()
        if len(self._asked_at) > 32:
            self._asked_at.pop(next(iter(self._asked_at)))
        self.latent_changed.emit()

    def _request_strip(self) -> None:
        if self.info is not None and self.state.has_keyframes():
            self.service.request("strip", self.state.strip())

    def _image_ready(self, rid: int, image: np.ndarray, ms: float) -> None:
        if rid <= self.shown_id:
            return  # an older picture than the one on screen
        self.shown_id = rid
        self.view.set_array(image, rid)
        self.recon.set_edited(image, self.state.editing_photo)
        self._render_ms = ms

    def _painted(self, rid: int) -> None:
        asked = self._asked_at.pop(rid, None)
        if asked is not None:
            self.status.setText(f"render {self._render_ms:.1f} ms · on screen {1000 * (self.view.painted_at - asked):.0f} ms")

    def _strip_ready(self, rid: int, images: np.ndarray, ms: float) -> None:
        if rid > self.strip_id:
            self.strip_id = rid
            self.keyframes.strip.set_frames(images, rid)

    # -- the latent ---------------------------------------------------------------------------------------
    def _origin_changed(self) -> None:
        self.dims.set_values(self.state.base)
        if self.state.seed is not None:
            self.controls.show_seed(self.state.seed)
        self._request_view()

    def randomize(self, seed: int | None = None) -> None:
        if self.info is None:
            return
        if seed is None:
            seed = random.randrange(100_000)  # short enough to read out and type back
        self.state.randomize(int(seed))
        self._origin_changed()

    def reset(self) -> None:
        self.state.reset()
        self.directions.set_amounts(self.state.principal_amounts)
        self.attributes.set_values(self.state.attribute_amounts)
        self._origin_changed()

    def current_latent(self) -> np.ndarray:
        """The edited latent before truncation (what bookmarks and keyframes keep)."""
        return self.state.edited()

    def _dim_changed(self, i: int, value: float) -> None:
        self.state.set_dim(i, value)
        self._request_view()

    def _dim_reset(self, i: int) -> None:
        self.dims.set_value(i, self.state.reset_dim(i))
        self._request_view()

    def _principal_changed(self, i: int, value: float) -> None:
        self.state.principal_amounts[i] = value
        self._request_view()

    def _attribute_changed(self, i: int, value: float) -> None:
        self.state.attribute_amounts[i] = value
        self._request_view()

    def _psi_changed(self, psi: float) -> None:
        self.state.psi = psi
        self._request_view()
        self._request_strip()

    def _smooth_changed(self, on: bool) -> None:
        self.smooth_action.setChecked(on)
        for view in (self.view, self.recon.input, self.recon.reconstruction, self.recon.edited):
            view.set_smooth(on)
        self.keyframes.strip.smooth = on
        self.keyframes.strip.update()

    # -- keyframes and bookmarks ----------------------------------------------------------------------------
    def set_keyframe(self, which: str, z, label: str) -> None:
        if self.info is None:
            return
        z = np.asarray(z, np.float32).reshape(-1)
        if z.size != self.state.latent_dim:
            self.show_error(f"keyframe {which}: a latent of size {z.size}, the model's is {self.state.latent_dim}")
            return
        self.state.set_keyframe(which, z, label)
        self.keyframes.set_label(which, label)
        self.keyframes.set_ready(self.state.has_keyframes())
        self._request_strip()

    def set_keyframe_from(self, which: str, source: str) -> None:
        if self.info is None:
            return
        if source == "current":
            label = self.state.source if self.state.is_pure_seed() else f"edited {self.state.source}".strip()
            self.set_keyframe(which, self.current_latent(), label)
        elif source == "seed":
            self.ask_seed_keyframe(which)
        elif source == "photo":
            self.choose_photo(keyframe=which)

    def go_between(self, t: float) -> None:
        """Show the point t of the way from A to B, even when the slider is there already."""
        slider = self.keyframes.slider
        slider.blockSignals(True)
        self.keyframes.set_position(t)
        slider.blockSignals(False)
        self._position_changed(t)

    def _position_changed(self, t: float) -> None:
        self.keyframes.show_position(t)
        if self.state.has_keyframes():
            self.state.go_between(t)
            self._origin_changed()

    def _mode_changed(self, mode: str) -> None:
        self.state.interp = mode
        self._request_strip()
        if self.state.has_keyframes():
            self._position_changed(self.state.t)

    def add_bookmark(self, name: str | None = None):
        if self.info is None:
            return None
        seed = self.state.seed if self.state.is_pure_seed() else None
        default = f"seed {seed}" if seed is not None else f"bookmark {len(self.bookmarks.bookmarks) + 1}"
        bookmark = self.bookmarks.add(name or default, self.current_latent(), seed)
        if hasattr(self.window(), "statusBar"):
            self.window().statusBar().showMessage(f"Bookmarked “{bookmark.name}”", 3000)
        return bookmark

    def show_bookmark(self, bookmark) -> None:
        if self.info is None or np.asarray(bookmark.z).size != self.state.latent_dim:
            return
        self.state.set_origin(bookmark.z, f"bookmark “{bookmark.name}”", seed=bookmark.seed)
        self._origin_changed()

    def _failed(self, channel: str, message: str) -> None:
        first = message.splitlines()[0] if message else "unknown error"
        if channel == "model" and self.info is not None:
            first += f" (still showing {self.info.label.split(' · ')[0]})"
        self.show_error(first, details=message)

    def show_error(self, message: str, details: str = "") -> None:
        self.banner.show_message(message, "error")
        self.banner.label.setToolTip(details or message)

    def show_note(self, message: str) -> None:
        self.banner.show_message(message, "info")

    # -- principal directions -----------------------------------------------------------------------------
    def _directions_changed(self, directions) -> None:
        edited = self.state.principal_amounts.any()
        self.state.set_principal(directions)  # amounts start at zero
        self.tabs.setTabText(1, "Directions" if directions is None else f"Directions ({len(directions)})")
        if edited:
            self._request_view()

    # -- live generator -------------------------------------------------------------------------------------
    def _follow_changed(self, on: bool) -> None:
        self.refresh_action.setEnabled(on)
        self.link.set_following(on)

    # -- Qt events --------------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            self.setFocus(Qt.OtherFocusReason)  # so R, A, B reach the panel's shortcuts at once
        if self.demo_on_first_show:
            self.demo_on_first_show = False
            self.open_default()

    def remember_choices(self) -> None:
        s = app_settings.app_settings()
        s.setValue("explore/seed", self.seed.value())
        s.setValue("explore/smooth", self.controls.smooth.isChecked())
        s.setValue("explore/interp", self.state.interp)
        s.setValue("explore/every", self.follow.every.value())
        s.setValue("explore/main_split", self.main_split.saveState())
        s.setValue("explore/left_split", self.left_split.saveState())

    def restore_choices(self) -> None:
        s = app_settings.app_settings()
        self.controls.show_seed(int(s.value("explore/seed", 0)))
        self.controls.smooth.setChecked(str(s.value("explore/smooth", "false")).lower() == "true")
        self.keyframes.mode.setCurrentIndex(max(0, self.keyframes.mode.findData(s.value("explore/interp", "slerp"))))
        self.follow.every.setValue(int(s.value("explore/every", self.follow.every.value())))
        for key, splitter in (("main_split", self.main_split), ("left_split", self.left_split)):
            state = s.value(f"explore/{key}")
            if state is not None:
                splitter.restoreState(state)

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        self.link.stop()
        self.directions.job.cancel()
        ok = self.service.shutdown(max(0.2, timeout_s - 0.2))
        return self.directions.shutdown(0.2) and ok


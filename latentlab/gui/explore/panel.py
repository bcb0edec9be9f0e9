"""The Explore panel: a large generator view driven by latent sliders, directions, keyframes and photos.

The panel lays out its widgets and hands each job to one collaborator:
    ExploreState (gui/state)  what is on screen, no Qt; announces every change
    ModelSlot (gui/state)     the model on screen; announces a new model or new weights
    (both belong to the Workspace, where the Record tab reads them too)
    StateBinding               editing widgets <-> state
    ViewRendering              state changes -> render requests -> pixels (the one render path)
    ModelLoader                checkpoints, imported DCGANs, the demo, the live trainer -> ModelSlot
    PhotoEncoding              photos -> encodings -> the state's origin or a keyframe
Every render, encode and model load happens on the render worker's thread, principal directions on
their own. Models come from File › Open checkpoint, a drop, `latentlab gui CKPT`, File › Import
PyTorch DCGAN, the run in the Train panel, or the embedded demo (opened when first shown).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QWidget,
)

from latentlab.config import UserError
from latentlab.gui import settings as app_settings
from latentlab.gui.explore.binding import StateBinding
from latentlab.gui.explore.layout import build_layout
from latentlab.gui.explore.live import TrainingLink
from latentlab.gui.explore.loader import ModelLoader
from latentlab.gui.explore.photos import PhotoEncoding
from latentlab.gui.explore.render_worker import RenderService
from latentlab.gui.explore.rendering import ViewRendering
from latentlab.gui.state.loading import WEIGHTS
from latentlab.gui.state.workspace import TRAINING, Workspace

CHECKPOINT_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pth", ".pt")
BOOKMARK_SUFFIXES = (".json",)


class ExplorePanel(QWidget):
    model_changed = Signal(object)  # ModelInfo now on screen, once the panel shows it
    model_relabeled = Signal(object)  # the same ModelInfo with new weights (a live generator's next step)

    def __init__(self, workspace: Workspace | None = None, parent=None):
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace()
        self.state = self.workspace.explore
        self._demo_scheduled = False
        self.model = self.workspace.model
        self.service = RenderService(self)
        self.link = TrainingLink(self.workspace, self)
        build_layout(self)
        self.binding = StateBinding(self.state, dims=self.dims, directions=self.directions,
                                    attributes=self.attributes, controls=self.controls, keyframes=self.keyframes)
        self.rendering = ViewRendering(self.state, self.model, self.service, self.view, self.keyframes.strip,
                                       self.status, parent=self)
        self.loader = ModelLoader(self.model, self.service, self.link, parent=self)
        self.photos = PhotoEncoding(self.state, self.model, self.service, self.recon, parent=self)
        self._build_actions()
        self._connect()
        self.workspace.model_wanted.connect(self.open_demo_soon)
        self.setFocusPolicy(Qt.ClickFocus)  # drops on the panel reach drop_path through the main window

    # -- construction -------------------------------------------------------------------------------
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
        # File › Open photo… reaches the photo journey from any tab (a window-wide shortcut).
        self.open_photo_action = QAction("Open photo…", self, shortcut=QKeySequence("Ctrl+Shift+O"),
                                         triggered=self.choose_photo)
        self.open_photo_action.setToolTip("Find a photo's face in the model's latent space, then edit it")
        self.save_view_action = a("Save view as PNG…", "Ctrl+Shift+S", self.choose_save_view)
        self.copy_action = a("Copy view", "Ctrl+Shift+C", self.copy_view, "Copy the view to the clipboard")
        self.smooth_action = a("Smooth scaling", "S", lambda on: self.controls.smooth.setChecked(on),
                               checkable=True)
        self.refresh_action = a("Refresh live generator", "F5", self.link.refresh)
        self.nearest_action = a("Nearest training images…", "Ctrl+Shift+N", self.show_nearest,
                                "Memorization check: the training images closest to the face on screen")
        # The Compare tab is the last of five and sits behind the tab bar's arrows in a narrow window.
        self.compare_action = a("Compare with another checkpoint…", "Ctrl+Shift+K", self.choose_compare,
                                "Draw the same latent with a second checkpoint, side by side or as a wipe")
        self.import_action = QAction("Import PyTorch DCGAN netG.pth…", self, triggered=self.loader.choose_dcgan)
        self.import_action.setToolTip("Explore a generator trained with the PyTorch DCGAN example or tutorial")
        self.refresh_action.setEnabled(False)  # until Follow training is on

    def menu_actions(self) -> tuple[str, list[QAction]]:
        return "&Explore", [self.randomize_action, self.reset_action, self.bookmark_action, self.set_a_action,
                            self.set_b_action, self.go_a_action, self.go_b_action,
                            self.save_view_action, self.copy_action, self.smooth_action, self.refresh_action,
                            self.nearest_action, self.compare_action]

    def choose_compare(self) -> None:
        self.tabs.setCurrentWidget(self.compare)
        self.compare.choose_checkpoint()

    def show_nearest(self) -> None:
        image = self.view.array()
        if image is None or self.info is None:
            return
        from latentlab.gui.widgets.nearest import show_nearest_training_images

        show_nearest_training_images(image, self.info, parent=self)

    def file_actions(self) -> list[QAction]:
        # File › Open checkpoint… is the window's; it hands checkpoints here
        return [self.open_photo_action, self.import_action]

    def status_widget(self) -> QWidget:
        return self.status

    def _connect(self) -> None:
        self.service.worker.failed.connect(self._failed)  # queued from the render thread
        self.model.changed.connect(self._model_changed)
        self.loader.note.connect(self.show_note)
        self.photos.failed.connect(self.show_error)
        self.photos.keyframe_encoded.connect(self.set_keyframe)
        self.rendering.image_shown.connect(self.photos.show_edited)
        # Compare: every latent sent to render reaches the second model too
        self.rendering.latent_changed.connect(lambda: self.compare.show_latent(self.state.latent()))
        self.rendering.image_shown.connect(self.compare.set_reference)
        self.model_changed.connect(lambda info: self.compare.set_latent_dim(info.latent_dim))
        self.directions.directions_changed.connect(
            lambda d: self.tabs.setTabText(1, "Directions" if d is None else f"Directions ({len(d)})"))
        self.directions.named_changed.connect(self._named_changed)
        self.link.availability_changed.connect(self.follow.set_available)
        self.follow.follow_changed.connect(self._follow_changed)
        self.follow.every.valueChanged.connect(self.link.set_every)
        self.follow.refresh_requested.connect(self.link.refresh)
        self.link.finished_offered.connect(self.follow.offer_finished)
        self.follow.open_requested.connect(self._open_finished)

        self.controls.randomize_clicked.connect(lambda: self.randomize())
        self.controls.seed_chosen.connect(lambda seed: self.randomize(seed))
        self.controls.reset_clicked.connect(self.reset)
        self.controls.smooth_toggled.connect(self._smooth_changed)
        # Smooth by default: a 32-64 px face blown up to the window in square pixels reads as a mosaic
        # (S or the check box brings the pixels back; the choice is remembered).
        self.controls.smooth.setChecked(True)
        self.keyframes.keyframe_requested.connect(self.set_keyframe_from)
        self.keyframes.keyframe_bookmark.connect(lambda w_, b: self.set_keyframe(w_, b.z, f"bookmark “{b.name}”"))
        self.bookmarks.add_requested.connect(lambda: self.add_bookmark())
        self.bookmarks.show_requested.connect(self.show_bookmark)
        self.bookmarks.keyframe_requested.connect(lambda w_, b: self.set_keyframe(w_, b.z, f"bookmark “{b.name}”"))
        self.bookmarks.failed.connect(self.show_error)
        self.photo.projected.connect(self._projected)
        self.photo.done.connect(lambda: self.show_stage("view"))
        self.recon.open_requested.connect(self.choose_photo)  # the Reconstruction box's Open photo… too
        self.photo.message.connect(lambda text, kind: self.show_error(text) if kind == "error" else self.show_note(text))
        self.bookmarks.changed.connect(self._bookmarks_changed)
        ws = self.workspace
        ws.checkpoint_opened.connect(self.open_checkpoint_and_show)
        ws.changed.connect(self._workspace_changed)
        self._workspace_changed(frozenset({TRAINING}))

    def _workspace_changed(self, aspects: frozenset) -> None:
        if TRAINING in aspects:  # while a training holds the cores, renders use one, else all
            self.service.worker.set_training_active(self.workspace.training.holds_cores)

    def _show_attributes(self, info) -> None:
        """The Attributes tab's sliders for the model's named directions (each with a Keep… menu)."""
        from latentlab.gui.explore.conditional import install_keep_menus

        self.state.set_attributes(info.attributes)
        described = getattr(info, "attribute_set", None)
        counts = info.attribute_counts
        tips = [described.describe(n) if described is not None and n in described else
                f"{n}: + amount × (mean encoding with it − mean without)"
                + (f"; from {counts[n][0]:,} images with, {counts[n][1]:,} without" if n in counts else "")
                for n in self.state.attribute_names]
        self.attributes.set_rows(self.state.attribute_names, self.state.attribute_amounts,
                                 [t + "\nright-click: keep another attribute unchanged" for t in tips])
        install_keep_menus(self.attributes, self.state, tips)
        self.tabs.setTabText(2, f"Attributes ({len(info.attributes)})" if info.attributes else "Attributes")

    def _named_changed(self, name: str) -> None:
        """A direction was stored beside the checkpoint (Teach…): reread them and show the new slider."""
        from latentlab.latent.attributes import read_attributes

        info = self.info
        if info is None or info.path is None:
            return
        try:
            found = read_attributes(info.path)
        except UserError as exc:
            self.show_error(str(exc))
            return
        info.attributes = dict(found.vectors) if found is not None else {}
        info.attribute_counts = dict(found.counts) if found is not None else {}
        info.attribute_set = found
        with self.state.batch():
            self._show_attributes(info)
        self.directions.set_named(info.attributes)
        self.tabs.setCurrentIndex(2)
        self.show_note(f"Direction “{name}” saved beside {info.path.name}; it is now an attribute slider")

    def _bookmarks_changed(self) -> None:
        self.workspace.set_bookmarks(self.bookmarks.bookmarks)

    # -- the model on screen ----------------------------------------------------------------------------
    @property
    def info(self):
        """ModelInfo on screen (None before the first model arrives)."""
        return self.model.info

    @property
    def last_request(self) -> int:
        """The newest view request (the benchmark and the tests wait for it on screen)."""
        return self.rendering.last_request

    def open_default(self) -> bool:
        return self.loader.open_default()

    @property
    def demo_on_first_show(self) -> bool:
        """The embedded demo opens when the panel is first shown, unless a model was asked for before."""
        return self.loader.demo_pending

    @demo_on_first_show.setter
    def demo_on_first_show(self, on: bool) -> None:
        self.loader.demo_pending = on

    def open_checkpoint(self, path: str | Path) -> None:
        self.loader.open_checkpoint(path)

    def open_checkpoint_and_show(self, path: str) -> None:
        """From File › Open checkpoint and `latentlab gui CKPT`: load it and bring the panel forward."""
        self.open_checkpoint(path)
        self.workspace.show(self)

    def import_dcgan(self, path: str | Path, nz: int = 100, ngf: int = 64) -> None:
        self.loader.import_dcgan(path, nz, ngf)

    def encode_training_image(self, index: int) -> None:
        self.photos.encode_training_image(index)

    def _model_changed(self, aspects: frozenset) -> None:
        info = self.info
        self._show_model_text()
        if WEIGHTS in aspects:
            self.state.invalidate()
            self.photos.weights_changed()
            self.model_relabeled.emit(info)
            return
        old = self.model.previous
        self.banner.hide()
        same_size = old is not None and old.latent_dim == info.latent_dim
        with self.state.batch():  # one render, once every widget shows the new model
            if not same_size:
                self.state.reset_model(info.latent_dim)
                self.dims.set_rows([f"z{i}" for i in range(info.latent_dim)], self.state.base)
                self.bookmarks.set_latent_dim(info.latent_dim)
                self._bookmarks_changed()
            self._show_attributes(info)
            self.directions.set_model(info)
            self.photos.model_changed()
            self.photo.set_model(info)
            self.keyframes.set_can_encode(info.has_encoder)
            if same_size:
                self.state.invalidate()
            else:
                self.randomize(self.controls.seed_value())
        self.model_changed.emit(info)

    def _show_model_text(self) -> None:
        info = self.info
        label = info.display_label()
        self.model_label.setText(label)
        self.model_label.setToolTip(str(info.path or label))

    # -- the latent ---------------------------------------------------------------------------------------
    def randomize(self, seed: int | None = None) -> None:
        if self.info is None:
            return
        if seed is None:
            seed = random.randrange(100_000)  # short enough to read out and type back
        self.state.randomize(int(seed))

    def reset(self) -> None:
        self.state.reset()

    def current_latent(self) -> np.ndarray:
        """The edited latent before truncation (what bookmarks and keyframes keep)."""
        return self.state.edited()

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

    def set_keyframe_from(self, which: str, source: str) -> None:
        if self.info is None:
            return
        if source == "current":
            self.set_keyframe(which, self.current_latent(), self.state.label())
            # The face on screen is that keyframe now: the slider says so (A at 0, B at 1), without a
            # new render or a new origin.
            t = 1.0 if which == "B" else 0.0
            slider = self.keyframes.slider
            slider.blockSignals(True)
            self.keyframes.set_position(t)
            slider.blockSignals(False)
            self.keyframes.show_position(t)
            self.state.t = t
        elif source == "seed":
            self.ask_seed_keyframe(which)
        elif source == "photo":
            self.photos.choose_photo(keyframe=which)

    def go_between(self, t: float) -> None:
        """Show the point t of the way from A to B, even when the slider is there already."""
        slider = self.keyframes.slider
        slider.blockSignals(True)
        self.keyframes.set_position(t)
        slider.blockSignals(False)
        self.keyframes.position_changed.emit(t)

    def ask_seed_keyframe(self, which: str) -> None:
        seed, ok = QInputDialog.getInt(self, f"Keyframe {which}", "Seed", self.controls.seed_value(), 0, 2**31 - 1)
        if ok:
            from latentlab.latent import seed_latent

            self.set_keyframe(which, seed_latent(seed, self.state.latent_dim), f"seed {seed}")

    def add_bookmark(self, name: str | None = None):
        if self.info is None:
            return None
        seed = self.state.seed if self.state.is_pure_seed() else None
        default = f"seed {seed}" if seed is not None else f"bookmark {len(self.bookmarks.bookmarks) + 1}"
        bookmark = self.bookmarks.add(name or default, self.current_latent(), seed)
        self._status_message(f"Bookmarked “{bookmark.name}”")
        return bookmark

    def show_bookmark(self, bookmark) -> None:
        if self.info is None or np.asarray(bookmark.z).size != self.state.latent_dim:
            return
        self.state.set_origin(bookmark.z, f"bookmark “{bookmark.name}”", seed=bookmark.seed)

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

    # -- live generator -------------------------------------------------------------------------------------
    def _open_finished(self, checkpoint: str) -> None:
        self.follow.offer_finished("")  # taken: the button would open what is already on screen
        self.open_checkpoint(checkpoint)

    def _follow_changed(self, on: bool) -> None:
        self.refresh_action.setEnabled(on)
        self.link.set_following(on)

    # -- files in and out ----------------------------------------------------------------------------------
    def drop_path(self, path: str | Path) -> bool:
        """Dropped here (the main window hands over drops on this panel): a checkpoint opens, a .pth
        imports, a .json adds bookmarks, anything else is taken for a photo."""
        path = Path(path)
        name = path.name.lower()
        if path.is_dir():
            self.show_error(f"{path}: a folder; drop a checkpoint, a photo or a netG.pth here "
                            "(drop run folders and data folders on the Train panel)")
        elif name.endswith(CHECKPOINT_SUFFIXES):
            self.open_checkpoint(path)
        elif name.endswith(TORCH_SUFFIXES):
            self.loader.ask_dcgan_sizes(path)
        elif name.endswith(BOOKMARK_SUFFIXES) and self.info is not None:
            try:
                self.show_note(f"{self.bookmarks.import_from(path)} bookmarks added from {path.name}")
            except (OSError, UserError) as exc:
                self.show_error(str(exc))
        else:
            self.show_photo_page(path)  # any model: the photo journey
        return True

    def show_stage(self, which: str) -> None:
        """The main picture area shows the generator view ("view") or the photo journey ("photo"); the
        keyframes and the reconstruction below give the journey their room."""
        photo = which == "photo"
        self.stage.setCurrentWidget(self.photo if photo else self.stage.widget(0))
        self.lower_area.setVisible(not photo)

    def show_photo_page(self, path: str | Path | None = None) -> None:
        """The photo journey, with `path` opened on it (any model)."""
        self.workspace.show(self)
        self.show_stage("photo")
        if path is not None:
            self.photo.open_photo(path)

    def choose_photo(self) -> None:
        """File › Open photo… (Ctrl+Shift+O) and the Reconstruction box's Open photo…."""
        self.show_photo_page()
        self.photo.choose_photo()

    def _projected(self, result: dict) -> None:
        """A projected photo becomes the face the sliders, directions and keyframes edit."""
        if self.info is None or np.asarray(result["z"]).size != self.state.latent_dim:
            return
        self.state.set_photo(result)
        if self.info.has_encoder:
            self.recon.set_photo(result["photo"], result["reconstruction"])

    def choose_save_view(self) -> None:
        if self.view.image().isNull():
            return
        default = f"seed-{self.state.seed}.png" if self.state.is_pure_seed() else "latentlab-view.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save the view as PNG", app_settings.in_last_folder("export", default),
                                              "PNG images (*.png)")
        if path:
            app_settings.remember_folder("export", path)
            self.save_view(path)

    def save_view(self, path: str | Path, min_size: int = 256) -> bool:
        """The image on screen, enlarged by a whole factor (at least min_size px) with the view's scaling."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        image = self.view.scaled_image(min_size)
        if image.isNull() or not image.save(str(path), "PNG"):
            self.show_error(f"{path}: cannot write the PNG (is the folder writable?)")
            return False
        self.show_note(f"Saved {path}")
        return True

    def copy_view(self) -> None:
        image = self.view.scaled_image(256)
        if not image.isNull():
            QApplication.clipboard().setImage(image)
            self._status_message("View copied to the clipboard")

    def _status_message(self, text: str) -> None:
        self.workspace.say(text, 3000)

    # -- Qt events --------------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            self.setFocus(Qt.OtherFocusReason)  # so R, A, B reach the panel's shortcuts at once
        self.open_demo_soon()

    def open_demo_soon(self) -> None:
        """The embedded demo, once the window is painted (torch loads for seconds after), unless a
        model was asked for meanwhile (`latentlab gui CKPT` clears demo_on_first_show and wins). When
        this panel is first shown, or a panel that draws with the model on screen asks for one
        (Workspace.model_wanted: Record, when a launch opens on it)."""
        if not self.demo_on_first_show or self._demo_scheduled:
            return
        self._demo_scheduled = True
        if self.workspace.painted:
            QTimer.singleShot(300, self._open_demo_if_wanted)
        else:  # counted from the window's first paint, not from its construction
            self.workspace.first_painted.connect(self._demo_after_first_paint)

    def _demo_after_first_paint(self) -> None:
        QTimer.singleShot(300, self._open_demo_if_wanted)

    def _open_demo_if_wanted(self) -> None:
        if self.demo_on_first_show:
            self.demo_on_first_show = False
            self.open_default()

    def remember_choices(self) -> None:
        s = app_settings.app_settings()
        s.setValue("explore/seed", self.controls.seed_value())
        s.setValue("explore/smooth", self.controls.smooth.isChecked())
        s.setValue("explore/interp", self.state.interp)
        s.setValue("explore/every", self.follow.every.value())
        s.setValue("explore/main_split", self.main_split.saveState())
        s.setValue("explore/left_split", self.left_split.saveState())

    def restore_choices(self) -> None:
        s = app_settings.app_settings()
        self.controls.show_seed(int(s.value("explore/seed", 0)))
        self.controls.smooth.setChecked(str(s.value("explore/smooth", self.controls.smooth.isChecked())).lower() == "true")
        self.keyframes.mode.setCurrentIndex(max(0, self.keyframes.mode.findData(s.value("explore/interp", "slerp"))))
        self.follow.every.setValue(int(s.value("explore/every", self.follow.every.value())))
        for key, splitter in (("main_split", self.main_split), ("left_split", self.left_split)):
            state = s.value(f"explore/{key}")
            if state is not None:
                splitter.restoreState(state)

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        self.link.stop()
        self.directions.job.cancel()
        self.photo.shutdown(0.2)
        ok = self.service.shutdown(max(0.2, timeout_s - 0.2))
        return self.directions.shutdown(0.2) and ok


"""What goes in and out of the Explore panel: models, photos, drops, the live generator, PNGs.

A mixin of ExplorePanel (kept apart so each file reads in one sitting). Anything that reads a file
or touches torch runs on the render worker or a background thread; a bad file ends as one message
in the panel's banner while the model on screen stays.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QInputDialog

from latentlab.config import UserError
from latentlab.gui.background import run_in_background
from latentlab.gui.explore.dialogs import DCGANSizesDialog
from latentlab.gui.models.loading import (
    import_dcgan_model,
    live_model,
    live_states_from_checkpoint,
    load_checkpoint_model,
    load_photo_for,
    training_image,
)
from latentlab.resources import demo_checkpoint

CHECKPOINT_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pth", ".pt")
BOOKMARK_SUFFIXES = (".json",)


class ExploreIOMixin:
    # -- models ---------------------------------------------------------------------------------------
    def open_default(self) -> bool:
        """The embedded demo model, unless something else has been asked for already."""
        if self.info is not None or not demo_checkpoint().is_file():
            return False
        self.open_checkpoint(demo_checkpoint())
        return True

    def open_checkpoint(self, path: str | Path) -> None:
        self.demo_on_first_show = False
        self.show_note(f"Loading {Path(path).name}…")
        self.service.worker.load(partial(load_checkpoint_model, Path(path)))

    def open_checkpoint_and_show(self, path: str) -> None:
        """From File › Open checkpoint and `latentlab gui CKPT`: load it and bring the panel forward."""
        self.open_checkpoint(path)
        tabs = getattr(self.window(), "tabs", None)
        if tabs is not None and tabs.indexOf(self) >= 0:
            tabs.setCurrentWidget(self)

    def choose_dcgan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a PyTorch DCGAN generator", "",
                                              "PyTorch state dicts (*.pth *.pt);;All files (*)")
        if path:
            self.ask_dcgan_sizes(path)

    def ask_dcgan_sizes(self, path: str | Path) -> None:
        dialog = DCGANSizesDialog(Path(path).name, self)
        if dialog.exec() == QDialog.Accepted:
            self.import_dcgan(path, *dialog.values())

    def import_dcgan(self, path: str | Path, nz: int = 100, ngf: int = 64) -> None:
        self.demo_on_first_show = False
        self.show_note(f"Importing {Path(path).name}…")
        self.service.worker.load(partial(import_dcgan_model, Path(path), nz, ngf))

    # -- a model arrived ------------------------------------------------------------------------------------------
    def _model_loaded(self, info) -> None:
        old = self.info
        self.info = info
        self.service.generation = info.generation
        self.banner.hide()
        same_size = old is not None and old.latent_dim == info.latent_dim
        if not same_size:
            self.state.reset_model(info.latent_dim)
            self.dims.set_rows([f"z{i}" for i in range(info.latent_dim)], self.state.base)
            self.bookmarks.set_latent_dim(info.latent_dim)
            for which in ("A", "B"):
                self.keyframes.set_label(which, "not set")
            self.keyframes.strip.set_frames(None)
            self.keyframes.set_ready(False)
        self.state.set_attributes(info.attributes)
        counts = info.attribute_counts
        self.attributes.set_rows(self.state.attribute_names, self.state.attribute_amounts,
                                 [f"{n}: + amount × (mean encoding with it − mean without)"
                                  + (f"; from {counts[n][0]:,} images with, {counts[n][1]:,} without" if n in counts
                                     else "") for n in self.state.attribute_names])
        self.tabs.setTabText(2, f"Attributes ({len(info.attributes)})" if info.attributes else "Attributes")
        self.directions.set_model(info)
        self._show_model_text()
        self._update_reconstruction(old)
        self.keyframes.set_can_encode(info.has_encoder)
        self.open_photo_action.setEnabled(info.has_encoder)
        if not same_size:
            self.randomize(self.seed.value())
        else:
            self._request_view()
            self._request_strip()
        self.model_changed.emit(info)

    def _show_model_text(self) -> None:
        info = self.info
        step = f" · step {info.step:,}" if info.kind == "live" and info.step is not None else ""
        label = info.label.split(" · step")[0] + step if info.kind == "live" else info.label
        self.model_label.setText(label)
        self.model_label.setToolTip(str(info.path or label))

    def _update_reconstruction(self, old) -> None:
        info = self.info
        if not info.has_encoder:
            self.recon.set_available(False, f"Unavailable: this model ({info.arch}) is a GAN without an encoder. "
                                            "Only a VAE/GAN can encode a photo and reconstruct it.")
            self.state.photo, self.state.editing_photo = None, False
            return
        can_pick = bool(info.data_source)
        self.recon.set_available(True, "", can_pick=can_pick)
        if info.data_source == "synthetic":
            self.recon.set_training_range(info.synthetic_count, info.synthetic_count - max(1, info.holdout))
        photo = self.state.photo
        if photo is not None and photo["photo"].shape[0] == info.image_size:
            # The new model's view of the same photo; it becomes the face on screen only if it was.
            self._encode(photo["photo"], photo.get("name", "photo"), ("photo",) if self.state.editing_photo
                         else ("refresh",))
        else:
            self.state.photo, self.state.editing_photo = None, False
            self.recon.clear()

    def _weights_swapped(self, generation: int, step) -> None:
        if self.info is None or generation != self.info.generation:
            return
        self.info.step = step
        self._show_model_text()
        self._request_view()
        self._request_strip()
        if self.state.photo is not None:
            self._encode(self.state.photo["photo"], self.state.photo.get("name", "photo"), ("refresh",))

    # -- the live generator ---------------------------------------------------------------------------
    def _live_offered(self, offer: dict) -> None:
        if self.link.following:
            self.service.worker.update_live(lambda: offer, self._build_live)

    def _live_checkpoint(self, path: str) -> None:
        self.service.worker.update_live(partial(live_states_from_checkpoint, path), self._build_live)

    @staticmethod
    def _build_live(offer: dict):
        return live_model(offer["model"], offer["states"], offer["step"], offer.get("data"))

    # -- photos ---------------------------------------------------------------------------------------
    def choose_photo(self, keyframe: str | None = None) -> None:
        if self.info is None or not self.info.has_encoder:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo to encode", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)")
        if path:
            self.open_photo(path, keyframe)

    def open_photo(self, path: str | Path, keyframe: str | None = None) -> None:
        """Decode off the GUI thread, then encode on the render worker."""
        info = self.info
        if info is None:
            self.show_error(f"{path}: load a VAE/GAN model first to encode photos")
            return
        if not info.has_encoder:
            self.show_error(f"{Path(path).name}: this model ({info.arch}) has no encoder, so it cannot encode "
                            "photos; open a VAE/GAN checkpoint")
            return
        name = Path(path).name

        def done(photo, error):
            if error:
                self.show_error(error.splitlines()[0], details=error)
            elif self.info is info:
                self._encode(photo, name, ("keyframe", keyframe) if keyframe else ("photo",))

        run_in_background(partial(load_photo_for, info, path), done)

    def encode_training_image(self, index: int) -> None:
        info = self.info
        if info is None or not info.has_encoder:
            return

        def done(photo, error):
            if error:
                self.show_error(error.splitlines()[0], details=error)
            elif self.info is info:
                self._encode(photo, f"training image {index}", ("photo",))

        run_in_background(partial(training_image, info, index), done)

    def _encode(self, photo: np.ndarray, name: str, purpose: tuple) -> None:
        rid = self.service.request("encode", photo)
        self._encode_purpose = {k: v for k, v in self._encode_purpose.items() if k > rid - 8}
        self._encode_purpose[rid] = (purpose, name)

    def _encoded(self, rid: int, result: dict) -> None:
        purpose, name = self._encode_purpose.pop(rid, (None, ""))
        if purpose is None:
            return
        result = {**result, "name": name}
        if purpose[0] == "keyframe":
            self.set_keyframe(purpose[1], result["z"], f"photo {name}")
            return
        if purpose[0] == "refresh" and self.state.photo is not None:
            self.state.photo = result  # new weights: a new reconstruction of the same photo
            self.recon.set_photo(result["photo"], result["reconstruction"])
            return
        self.state.set_photo(result)
        self.recon.set_photo(result["photo"], result["reconstruction"])
        self.directions.set_amounts(self.state.principal_amounts)
        self.attributes.set_values(self.state.attribute_amounts)
        self._origin_changed()

    def _edit_photo_again(self) -> None:
        if self.state.photo is not None:
            self.state.set_photo(self.state.photo)
            self.directions.set_amounts(self.state.principal_amounts)
            self.attributes.set_values(self.state.attribute_amounts)
            self._origin_changed()

    def ask_seed_keyframe(self, which: str) -> None:
        seed, ok = QInputDialog.getInt(self, f"Keyframe {which}", "Seed", self.seed.value(), 0, 2**31 - 1)
        if ok:
            from latentlab.latent import seed_latent

            self.set_keyframe(which, seed_latent(seed, self.state.latent_dim), f"seed {seed}")

    # -- drops ----------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.drop_path(url.toLocalFile())
                return

    def drop_path(self, path: str | Path) -> None:
        """A checkpoint opens, a .pth imports, a .json adds bookmarks, anything else is taken for a photo."""
        path = Path(path)
        name = path.name.lower()
        if path.is_dir():
            self.show_error(f"{path}: a folder; drop a checkpoint, a photo or a netG.pth here "
                            "(drop run folders and data folders on the Train panel)")
        elif name.endswith(CHECKPOINT_SUFFIXES):
            self.open_checkpoint(path)
        elif name.endswith(TORCH_SUFFIXES):
            self.ask_dcgan_sizes(path)
        elif name.endswith(BOOKMARK_SUFFIXES) and self.info is not None:
            try:
                self.show_note(f"{self.bookmarks.import_from(path)} bookmarks added from {path.name}")
            except (OSError, UserError) as exc:
                self.show_error(str(exc))
        else:
            self.open_photo(path)

    # -- output -----------------------------------------------------------------------------------------------
    def choose_save_view(self) -> None:
        if self.view.image().isNull():
            return
        default = f"seed-{self.state.seed}.png" if self.state.is_pure_seed() else "latentlab-view.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save the view as PNG", default, "PNG images (*.png)")
        if path:
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
            window = self.window()
            if hasattr(window, "statusBar"):
                window.statusBar().showMessage("View copied to the clipboard", 3000)

"""Photos in the Explore panel: open or pick one, encode it with the VAE/GAN's encoder, edit its face.

Decoding a file runs on a background thread, encoding on the render worker; an encoded photo becomes
the state's origin (or a keyframe), and the Reconstruction box shows the photo, the model's
reconstruction and the edited face on screen.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from latentlab.gui.background import run_in_background
from latentlab.gui.state.explore_state import ExploreState
from latentlab.gui.state.loading import ModelSlot, load_photo_for, training_image


class PhotoEncoding(QObject):
    failed = Signal(str, str)  # first line, details
    keyframe_encoded = Signal(str, object, str)  # "A" | "B", latent, label

    # No reference back to the panel (its Qt parent): no cycle leaves it to the garbage collector.
    def __init__(self, state: ExploreState, slot: ModelSlot, service, recon, parent):
        super().__init__(parent)
        self.state, self.slot, self.service, self.recon = state, slot, service, recon
        self._purpose: dict[int, tuple] = {}  # encode request id -> (purpose, photo name)
        service.worker.encoded.connect(self._encoded)  # queued from the render thread
        recon.training_image_requested.connect(self.encode_training_image)
        recon.edit_again_requested.connect(self.edit_again)

    def choose_photo(self, keyframe: str | None = None) -> None:
        info = self.slot.info
        if info is None or not info.has_encoder:
            return
        from latentlab.gui.settings import last_folder, remember_folder

        path, _ = QFileDialog.getOpenFileName(self.parent(), "Open a photo to encode", last_folder("photo"),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)")
        if path:
            remember_folder("photo", path)
            self.open_photo(path, keyframe)

    def open_photo(self, path: str | Path, keyframe: str | None = None) -> None:
        """Decode off the GUI thread, then encode on the render worker."""
        info = self.slot.info
        if info is None:
            self.failed.emit(f"{path}: load a VAE/GAN model first to encode photos", "")
            return
        if not info.has_encoder:
            self.failed.emit(f"{Path(path).name}: this model ({info.arch}) has no encoder, so it cannot encode "
                             "photos; open a VAE/GAN checkpoint", "")
            return
        self._decode_then_encode(partial(load_photo_for, info, path), Path(path).name,
                                 ("keyframe", keyframe) if keyframe else ("photo",))

    def encode_training_image(self, index: int) -> None:
        info = self.slot.info
        if info is not None and info.has_encoder:
            self._decode_then_encode(partial(training_image, info, index), f"training image {index}", ("photo",))

    def _decode_then_encode(self, decode, name: str, purpose: tuple) -> None:
        info = self.slot.info

        def done(photo, error):
            if error:
                self.failed.emit(error.splitlines()[0], error)
            elif self.slot.info is info:
                self._encode(photo, name, purpose)

        run_in_background(decode, done)

    def _encode(self, photo: np.ndarray, name: str, purpose: tuple) -> None:
        rid = self.service.request("encode", photo)
        self._purpose = {k: v for k, v in self._purpose.items() if k > rid - 8}
        self._purpose[rid] = (purpose, name)

    def _encoded(self, rid: int, result: dict) -> None:
        purpose, name = self._purpose.pop(rid, (None, ""))
        if purpose is None:
            return
        result = {**result, "name": name}
        if purpose[0] == "keyframe":
            self.keyframe_encoded.emit(purpose[1], result["z"], f"photo {name}")
            return
        if purpose[0] == "refresh" and self.state.photo is not None:
            self.state.replace_photo(result)  # new weights: a new reconstruction of the same photo
        else:
            self.state.set_photo(result)
        self.recon.set_photo(result["photo"], result["reconstruction"])

    def edit_again(self) -> None:
        if self.state.photo is not None:
            self.state.set_photo(self.state.photo)

    def show_edited(self, image: np.ndarray) -> None:
        self.recon.set_edited(image, self.state.editing_photo)

    # -- the model changed ---------------------------------------------------------------------------
    def model_changed(self) -> None:
        """The new model's view of the photo on screen, or no photo if it cannot encode or differs in size."""
        info = self.slot.info
        if not info.has_encoder:
            self.recon.set_available(False, f"Unavailable: this model ({info.arch}) is a GAN without an encoder. "
                                            "Only a VAE/GAN can encode a photo and reconstruct it.")
            self.state.replace_photo(None)
            return
        self.recon.set_available(True, "", can_pick=bool(info.data_source))
        if info.data_source == "synthetic":
            self.recon.set_training_range(info.synthetic_count, info.synthetic_count - max(1, info.holdout))
        photo = self.state.photo
        if photo is not None and photo["photo"].shape[0] == info.image_size:
            # It becomes the face on screen only if it was.
            self._encode(photo["photo"], photo.get("name", "photo"), ("photo",) if self.state.editing_photo
                         else ("refresh",))
        else:
            self.state.replace_photo(None)
            self.recon.clear()

    def weights_changed(self) -> None:
        if self.state.photo is not None:
            self._encode(self.state.photo["photo"], self.state.photo.get("name", "photo"), ("refresh",))

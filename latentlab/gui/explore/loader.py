"""Which model the Explore panel shows: checkpoints, imported PyTorch DCGANs, the demo, the live trainer.

Loading happens on the render worker; what arrives goes into the panel's ModelSlot, whose change
events the panel and its parts follow. A file that cannot be loaded ends as one message while the
model on screen stays.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QFileDialog

from latentlab.gui.explore.dialogs import DCGANSizesDialog
from latentlab.gui.state.loading import (
    ModelSlot,
    import_dcgan_model,
    live_model,
    live_states_from_checkpoint,
    load_checkpoint_model,
)
from latentlab.resources import demo_checkpoint


class ModelLoader(QObject):
    note = Signal(str)  # what is being loaded, for the panel's banner

    # No reference back to the panel (its Qt parent): no cycle leaves it to the garbage collector.
    def __init__(self, slot: ModelSlot, service, link, parent):
        super().__init__(parent)
        self.slot, self.service, self.link = slot, service, link
        self.demo_pending = True  # the demo opens on first show unless another model was asked for
        # Bound methods of a QObject: Qt queues each call from the render thread onto the GUI thread.
        service.worker.model_loaded.connect(self._model_loaded)
        service.worker.weights_swapped.connect(self._weights_swapped)
        link.weights_arrived.connect(self._live_offered)
        link.fetch_checkpoint.connect(self._live_checkpoint)

    def open_default(self) -> bool:
        """The embedded demo model, unless something else has been asked for already."""
        if self.slot.info is not None or not demo_checkpoint().is_file():
            return False
        self.open_checkpoint(demo_checkpoint())
        return True

    def open_checkpoint(self, path: str | Path) -> None:
        self.demo_pending = False
        self.note.emit(f"Loading {Path(path).name}…")
        self.service.worker.load(partial(load_checkpoint_model, Path(path)))

    def choose_dcgan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent(), "Import a PyTorch DCGAN generator", "",
                                              "PyTorch state dicts (*.pth *.pt);;All files (*)")
        if path:
            self.ask_dcgan_sizes(path)

    def ask_dcgan_sizes(self, path: str | Path) -> None:
        dialog = DCGANSizesDialog(Path(path).name, self.parent())
        if dialog.exec() == QDialog.Accepted:
            self.import_dcgan(path, *dialog.values())

    def import_dcgan(self, path: str | Path, nz: int = 100, ngf: int = 64) -> None:
        self.demo_pending = False
        self.note.emit(f"Importing {Path(path).name}…")
        self.service.worker.load(partial(import_dcgan_model, Path(path), nz, ngf))

    def _model_loaded(self, info) -> None:
        self.service.generation = info.generation
        self.slot.set(info)

    def _weights_swapped(self, generation: int, step) -> None:
        if self.slot.info is not None and generation == self.slot.info.generation:
            self.slot.set_step(step)

    # -- the live generator ---------------------------------------------------------------------------
    def _live_offered(self, offer: dict) -> None:
        self.service.worker.update_live(lambda: offer, self._build_live)

    def _live_checkpoint(self, path: str) -> None:
        self.service.worker.update_live(partial(live_states_from_checkpoint, path), self._build_live)

    @staticmethod
    def _build_live(offer: dict):
        return live_model(offer["model"], offer["states"], offer["step"], offer.get("data"))

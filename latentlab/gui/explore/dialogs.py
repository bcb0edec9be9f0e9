"""Small dialogs of the Explore panel."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox


class DCGANSizesDialog(QDialog):
    """nz and ngf of a PyTorch DCGAN-example netG (the example's defaults are 100 and 64)."""

    def __init__(self, filename: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Import a PyTorch DCGAN generator")
        self.nz = QSpinBox()
        self.nz.setRange(1, 4096)
        self.nz.setValue(100)
        self.nz.setToolTip("--nz the generator was trained with (the example's default is 100)")
        self.ngf = QSpinBox()
        self.ngf.setRange(1, 4096)
        self.ngf.setValue(64)
        self.ngf.setToolTip("--ngf the generator was trained with (the example's default is 64)")
        note = QLabel(f"{filename}\nThe image size follows from the file (32, 64 or 128 px).")
        note.setObjectName("muted")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("Latent size (nz)", self.nz)
        form.addRow("Generator width (ngf)", self.ngf)
        form.addRow(buttons)

    def values(self) -> tuple[int, int]:
        return self.nz.value(), self.ngf.value()

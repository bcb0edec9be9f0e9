"""The first-launch welcome strip: what to try on the demo model, shown until the user dismisses it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

from latentlab.gui import settings as app_settings

DISMISSED_KEY = "welcome/dismissed"
TEXT = ("<b>Welcome to latentlab.</b> On screen is a small demo VAE/GAN (Larsen et al. 2016) trained on "
        "synthetic faces. <b>Drag a slider</b> to change the face, <b>drop a photo</b> on it to encode and "
        "edit it, or <b>train your own</b> model in the Train tab.")


class WelcomeStrip(QFrame):
    train_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("welcome_strip")
        self.setFrameShape(QFrame.StyledPanel)
        label = QLabel(TEXT)
        label.setWordWrap(True)
        train = QPushButton("Train your own")
        train.clicked.connect(self.train_requested)
        close = QToolButton(text="✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss (not shown again)")
        close.clicked.connect(self.dismiss)
        self.close_button = close
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(label, 1)
        layout.addWidget(train, 0, Qt.AlignVCenter)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.setVisible(not self.dismissed())

    @staticmethod
    def dismissed() -> bool:
        return app_settings.get_json(DISMISSED_KEY, False) is True

    def dismiss(self) -> None:
        app_settings.set_json(DISMISSED_KEY, True)
        self.hide()

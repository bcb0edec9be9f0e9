"""Where problems show up in the window: a banner for the latest message and a list of every alert."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.theme import LEVEL_COLORS, MUTED

# Event kinds worth a line in the list (sample/checkpoint events go to the grid and the status bar).
LISTED_KINDS = ("alert", "error", "setting", "info", "done", "rollback")


class MessageBanner(QFrame):
    """One dismissible message above the plots. An error stays until closed or replaced; a note ("Saved
    …", "Loaded …") is news only for a while and goes by itself, so it never describes an old state."""

    NOTE_MS = 8000  # a note's least time on screen; longer ones get time to be read (READ_MS a character)
    READ_MS = 70

    def __init__(self, parent=None):
        super().__init__(parent)
        self.expiry = QTimer(self, singleShot=True)
        self.expiry.timeout.connect(self.hide)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton(text="✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        self.level = level
        self.label.setObjectName("banner_error" if level == "error" else "banner_info")
        self.label.style().unpolish(self.label)  # the style sheet keys on the object name
        self.label.style().polish(self.label)
        self.label.setText(text)
        self.show()
        if level == "error":
            self.expiry.stop()
        else:
            self.expiry.start(max(self.NOTE_MS, self.READ_MS * len(text)))

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class AlertsWidget(QWidget):
    """Alerts, errors, setting changes and notes of the run, newest last, with a count in the title."""

    count_changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Alerts")
        self.title.setObjectName("heading")
        clear = QToolButton(text="Clear")
        clear.setAutoRaise(True)
        clear.clicked.connect(self.clear)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(False)
        self.list.setUniformItemSizes(False)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        self._alerts = 0

    def add(self, level: str, message: str, step: int | None = None) -> None:
        prefix = f"step {step:,} · " if step is not None and step >= 0 else time.strftime("%H:%M:%S · ")
        item = QListWidgetItem(f"{'●'} {prefix}{message}")
        item.setForeground(QColor(LEVEL_COLORS.get(level, MUTED)))
        item.setToolTip(message)
        item.setData(Qt.UserRole, level)
        self.list.addItem(item)
        if self.list.count() > 2000:  # a long-running storm must not grow the window's memory unbounded
            self.list.takeItem(0)
        self.list.scrollToBottom()
        if level in ("alert", "error"):
            self._alerts += 1
            self.title.setText(f"Alerts ({self._alerts})")
            self.count_changed.emit(self._alerts)

    def add_event(self, row: dict) -> None:
        kind = str(row.get("kind", "info"))
        if kind in LISTED_KINDS:
            self.add("info" if kind == "done" else kind, str(row.get("message", "")), row.get("step"))

    def messages(self, level: str | None = None) -> list[str]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if level is None or item.data(Qt.UserRole) == level:
                out.append(item.text())
        return out

    def clear(self) -> None:
        self.list.clear()
        self._alerts = 0
        self.title.setText("Alerts")
        self.count_changed.emit(0)

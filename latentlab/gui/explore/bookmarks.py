"""Named latents kept with the app's saved state, in the bookmarks format `latentlab walk --latents` reads.

One file per latent size (bookmarks/nz100.json beside the app's settings file), so switching between
models of the same latent size keeps the list, and an exported file is a valid walk input. latentlab.latent is imported on first use (it brings torch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.config import UserError
from latentlab.gui import settings as app_settings


def bookmarks_file(latent_dim: int) -> Path:
    return Path(app_settings.app_settings().fileName()).parent / "bookmarks" / f"nz{latent_dim}.json"


class BookmarksWidget(QWidget):
    show_requested = Signal(object)  # Bookmark
    keyframe_requested = Signal(str, object)  # "A" | "B", Bookmark
    add_requested = Signal()  # bookmark the latent on screen
    failed = Signal(str)
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.latent_dim = 0
        self.bookmarks: list = []  # latentlab.latent.Bookmark
        self.list = QListWidget()
        self.list.setEditTriggers(QAbstractItemView.EditKeyPressed | QAbstractItemView.SelectedClicked)
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemActivated.connect(lambda item: self.show_requested.emit(self._bookmark_of(item)))
        self.list.itemChanged.connect(self._renamed)
        self.list.model().rowsMoved.connect(self._reordered)
        self.list.setToolTip("Double-click or Enter: show it · F2: rename · Del: remove · drag to reorder\n"
                             "Kept with the app's state; Export writes a file for `latentlab walk --latents`")
        delete = QAction("Remove bookmark", self.list, shortcut=QKeySequence.Delete,
                         shortcutContext=Qt.WidgetShortcut, triggered=self.remove_selected)
        self.list.addAction(delete)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for text, tip, slot in (
            ("Add", "Bookmark the latent on screen (Ctrl+B)", self.add_requested.emit),
            ("Show", "Show the selected bookmark", lambda: self._emit_selected(self.show_requested.emit)),
            ("→ A", "Make the selected bookmark keyframe A",
             lambda: self._emit_selected(lambda b: self.keyframe_requested.emit("A", b))),
            ("→ B", "Make the selected bookmark keyframe B",
             lambda: self._emit_selected(lambda b: self.keyframe_requested.emit("B", b))),
            ("Remove", "Remove the selected bookmark (Del)", self.remove_selected),
            ("Export…", "Write these bookmarks to a JSON file (`latentlab walk --latents FILE`)", self.export_file),
            ("Import…", "Add bookmarks from a JSON file", self.import_file),
        ):
            button = QToolButton(text=text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    # -- storage ----------------------------------------------------------------------------------------
    def set_latent_dim(self, latent_dim: int) -> None:
        """Show the bookmarks of this latent size (read from the app's data folder)."""
        if latent_dim == self.latent_dim:
            return
        self.latent_dim = latent_dim
        from latentlab.latent import load_bookmarks

        path = bookmarks_file(latent_dim)
        self.bookmarks = []
        if path.is_file():
            try:
                self.bookmarks = load_bookmarks(path, latent_dim)
            except UserError as exc:
                self.failed.emit(f"bookmarks not loaded: {exc}")
        self._fill()

    def save(self) -> None:
        if not self.latent_dim:
            return
        from latentlab.latent import save_bookmarks

        path = bookmarks_file(self.latent_dim)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_bookmarks(path, self.bookmarks)
        except (OSError, UserError) as exc:
            self.failed.emit(f"bookmarks not saved: {exc}")
        self.changed.emit()

    def _fill(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for b in self.bookmarks:
            item = QListWidgetItem(b.name)
            item.setFlags(item.flags() | Qt.ItemIsEditable)
            item.setToolTip(f"{b.name}" + (f" (seed {b.seed})" if b.seed is not None else ""))
            self.list.addItem(item)
        self.list.blockSignals(False)

    # -- editing -------------------------------------------------------------------------------------------
    def add(self, name: str, z: np.ndarray, seed: int | None = None):
        from latentlab.latent import Bookmark

        taken = {b.name for b in self.bookmarks}
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name} ({n})", n + 1
        bookmark = Bookmark(unique, np.asarray(z, np.float32).copy(), seed)
        self.bookmarks.append(bookmark)
        self._fill()
        self.list.setCurrentRow(len(self.bookmarks) - 1)
        self.save()
        return bookmark

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.bookmarks):
            del self.bookmarks[row]
            self._fill()
            self.list.setCurrentRow(min(row, len(self.bookmarks) - 1))
            self.save()

    def _bookmark_of(self, item: QListWidgetItem):
        return self.bookmarks[self.list.row(item)]

    def _emit_selected(self, emit) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.bookmarks):
            emit(self.bookmarks[row])

    def _renamed(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        name = item.text().strip()
        if 0 <= row < len(self.bookmarks) and name and name != self.bookmarks[row].name:
            self.bookmarks[row].name = name
            self.save()

    def _reordered(self, *_args) -> None:
        by_name = {b.name: b for b in self.bookmarks}
        order = [self.list.item(i).text() for i in range(self.list.count())]
        if sorted(order) == sorted(by_name):
            self.bookmarks = [by_name[name] for name in order]
            self.save()

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        b = self._bookmark_of(item)
        menu = QMenu(self)
        menu.addAction("Show", lambda: self.show_requested.emit(b))
        menu.addAction("Set as keyframe A", lambda: self.keyframe_requested.emit("A", b))
        menu.addAction("Set as keyframe B", lambda: self.keyframe_requested.emit("B", b))
        menu.addAction("Rename", lambda: self.list.editItem(item))
        menu.addAction("Remove", self.remove_selected)
        menu.exec(self.list.mapToGlobal(pos))

    # -- files -------------------------------------------------------------------------------------------
    def export_to(self, path: str | Path) -> None:
        from latentlab.latent import save_bookmarks

        save_bookmarks(path, self.bookmarks)

    def import_from(self, path: str | Path) -> int:
        from latentlab.latent import load_bookmarks

        added = load_bookmarks(path, self.latent_dim)
        for b in added:
            self.add(b.name, b.z, b.seed)
        return len(added)

    def export_file(self) -> None:
        from latentlab.gui.settings import in_last_folder, remember_folder

        path, _ = QFileDialog.getSaveFileName(self, "Export bookmarks",
                                              in_last_folder("export", f"bookmarks-nz{self.latent_dim}.json"),
                                              "Bookmarks (*.json)")
        if path:
            remember_folder("export", path)
            try:
                self.export_to(path)
            except (OSError, UserError) as exc:
                self.failed.emit(str(exc))

    def import_file(self) -> None:
        from latentlab.gui.settings import last_folder, remember_folder

        path, _ = QFileDialog.getOpenFileName(self, "Import bookmarks", last_folder("export"), "Bookmarks (*.json)")
        if path:
            remember_folder("export", path)
            try:
                self.import_from(path)
            except (OSError, UserError) as exc:
                self.failed.emit(str(exc))

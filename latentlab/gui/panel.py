"""What the main window asks of a tab. Every panel implements all of it and is built from the
Workspace alone: it shares state with the other tabs only through that (tests/test_layering.py
checks that no panel reaches the window or another panel by name)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QWidget


@runtime_checkable
class Panel(Protocol):
    def menu_actions(self) -> tuple[str, list[QAction]] | None:
        """A menu of its own in the menu bar (title, actions), or None."""

    def file_actions(self) -> list[QAction]:
        """Actions for the File menu, above Quit."""

    def status_widget(self) -> QWidget | None:
        """A permanent widget for the status bar, or None."""

    def show_error(self, message: str) -> None:
        """In the panel's own banner: the window shows errors in the tab the user is looking at."""

    def drop_path(self, path: str | Path) -> bool:
        """A file or folder dropped on the panel: True if it took it, False to let the window have it."""

    def remember_choices(self) -> None:
        """Save what the user chose (splitters, fields) to the app's settings."""

    def restore_choices(self) -> None:
        """Read them back, once, before the window shows."""

    def shutdown(self, timeout_s: float) -> bool:
        """Stop its threads (within timeout_s); True if all ended."""

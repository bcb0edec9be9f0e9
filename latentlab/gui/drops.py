"""Dropping a local file or folder on a widget: the first one goes to the widget's `drop_path`."""

from __future__ import annotations


class LocalFileDropMixin:
    """Mix in before the Qt widget class; the widget defines drop_path(path) and setAcceptDrops(True)."""

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.drop_path(url.toLocalFile())
                return

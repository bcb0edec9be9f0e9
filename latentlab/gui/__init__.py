"""The desktop app: every Qt widget, window, thread and signal of latentlab (PySide6 + pyqtgraph).

Importing this package applies one compatibility fix before any Qt call (see _pyside_refcounts).
"""

from latentlab.gui._pyside_refcounts import immortalize_singletons

immortalize_singletons()

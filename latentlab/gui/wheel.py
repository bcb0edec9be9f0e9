"""The mouse wheel scrolls the page under it; it edits a number box, a list box or a slider only once
the user has clicked or tabbed into that control.

Left to Qt, a wheel turned over a scrolling form changes whichever spin box happens to pass under the
pointer (a Seed of 0 became 3 unnoticed). One application-wide filter covers every control, also the
ones panels create later: such controls take the focus on click or Tab only (not on the wheel), and a
wheel event reaching one without the focus is declined, so Qt hands it to the scroll area around it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollBar

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)
# A scroll area hands its wheel events to its scroll bars (which never take the focus): they scroll.
FREE = (QScrollBar,)
_WHEEL, _POLISH = QEvent.Wheel, QEvent.Polish


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == _WHEEL:
            if isinstance(obj, GUARDED) and not isinstance(obj, FREE) and not obj.hasFocus():
                event.ignore()  # unaccepted, the wheel event goes on to the parent (the scroll area)
                return True
        elif kind == _POLISH and isinstance(obj, GUARDED) and not isinstance(obj, FREE) and \
                obj.focusPolicy() & Qt.WheelFocus == Qt.WheelFocus:
            obj.setFocusPolicy(Qt.StrongFocus)  # the wheel must not hand it the focus either
        return False


_guard: WheelGuard | None = None


def install(app: QApplication) -> WheelGuard:
    """Once per application (make_application calls it)."""
    global _guard
    if _guard is None or _guard.parent() is not app:
        _guard = WheelGuard(app)
        app.installEventFilter(_guard)
    return _guard

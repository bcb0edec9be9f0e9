"""The mouse wheel never edits a control the user has not clicked or tabbed into (issue: Seed 0 -> 3)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSlider, QSpinBox


def wheel(widget, notches: int = 3) -> bool:
    """One wheel turn over the middle of `widget`, through the application (its event filters too);
    True if the widget took it (a real, spontaneous event left untaken goes on to the parent)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_over_an_unfocused_setting_changes_nothing_and_scrolls_the_form(window, qtbot):
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    window.resize(1024, 700)
    qtbot.wait(50)
    form = panel.form
    seed = form.editors["train.seed"]
    assert isinstance(seed, QSpinBox) and seed.focusPolicy() == Qt.StrongFocus
    before = seed.value()
    panel.setFocus()
    assert not wheel(seed)  # declined: Qt hands it to the scrolling form around the box
    assert seed.value() == before and not seed.hasFocus()
    # The form itself still scrolls: its scroll area hands the wheel to its (never focused) scroll bar.
    scroll = seed.parentWidget()
    while not hasattr(scroll, "verticalScrollBar"):
        scroll = scroll.parentWidget()
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    assert wheel(bar) and bar.value() < bar.maximum()
    seed.setFocus()
    qtbot.waitUntil(seed.hasFocus)
    assert wheel(seed)
    assert seed.value() != before  # once clicked or tabbed into, the wheel edits it as usual


def test_every_kind_of_control_in_the_window_is_guarded(window, qtbot):
    controls = [w for w in window.findChildren(QSpinBox) + window.findChildren(QComboBox)
                + window.findChildren(QSlider) if w.isEnabled()]  # (QScrollBar is no QSlider)
    assert len(controls) > 10
    for control in controls:
        window.setFocus()
        if isinstance(control, QComboBox):
            if control.count() < 2:
                continue
            control.setCurrentIndex(control.count() - 1)
            read = control.currentIndex
        else:
            if control.maximum() - control.minimum() < 2:
                continue
            control.setValue((control.minimum() + control.maximum()) // 2)
            read = control.value
        before = read()
        wheel(control)
        assert read() == before, control.objectName() or type(control).__name__

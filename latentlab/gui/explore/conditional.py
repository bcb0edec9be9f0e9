"""The Attributes tab's per-slider option "Keep <other attribute>" (conditional editing, Shen et al.
2020): a right-click on a slider row lists the other attributes; each one ticked is held fixed while
that slider moves (its vector is projected off the kept ones). The row's name then says what it keeps."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu


def _row_label(bank, row: int):
    item = bank._grid.itemAtPosition(row, 0)
    return item.widget() if item is not None else None


def install_keep_menus(bank, state, tooltips: list[str]) -> None:
    """After bank.set_rows(state.attribute_names, …): a context menu on every row's name and slider."""
    for row, slider in enumerate(bank.sliders):
        for widget in (slider, _row_label(bank, row)):
            if widget is None:
                continue
            widget.setContextMenuPolicy(Qt.CustomContextMenu)
            widget.customContextMenuRequested.connect(
                lambda pos, r=row, w=widget: keep_menu(bank, state, r, tooltips).exec(w.mapToGlobal(pos)))


def keep_menu(bank, state, row: int, tooltips: list[str]) -> QMenu:
    names = state.attribute_names
    menu = QMenu(bank)
    menu.setToolTipsVisible(True)
    if len(names) < 2:
        menu.addAction("Keep another attribute: this model has only one").setEnabled(False)
    for j, other in enumerate(names):
        if j == row:
            continue
        action = menu.addAction(f"Keep {other}")
        action.setCheckable(True)
        action.setChecked(j in state.attribute_keep[row])
        action.setToolTip(f"Move {names[row]} without changing {other} (its vector projected off {other}'s)")
        action.toggled.connect(lambda on, j=j: set_keep(bank, state, row, j, on, tooltips))
    return menu


def set_keep(bank, state, row: int, other: int, on: bool, tooltips: list[str]) -> None:
    keep = set(state.attribute_keep[row])
    (keep.add if on else keep.discard)(other)
    state.set_attribute_keep(row, keep)
    kept = [state.attribute_names[j] for j in sorted(keep)]
    name = state.attribute_names[row]
    label = _row_label(bank, row)
    if label is not None:
        label.setText(f"{name} ⟂ {', '.join(kept)}" if kept else name)
    tip = tooltips[row] + (f"\nkeeps {', '.join(kept)} unchanged" if kept else "") + "\nright-click: keep another"
    bank.sliders[row].setToolTip(tip)

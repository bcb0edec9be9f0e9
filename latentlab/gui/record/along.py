"""Record's "Along a direction ▾": a segment that moves one face along a named direction. It adds two
keyframes, the face moved to −3 and to +3 along the direction (the attribute sliders' range), and
switches the walk to lerp so the segment between them is the straight line along it. The face is
the Explore panel's current one, one of its bookmarks, or its encoded photo."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMenu, QToolButton

AMOUNT = 3.0


def build_button(panel) -> QToolButton:
    button = QToolButton(text="Along a direction ▾")
    button.setPopupMode(QToolButton.InstantPopup)
    button.setToolTip("Add a segment along a named direction (Explore › Attributes; teach one with "
                      f"Explore › Directions › Teach…): the face at −{AMOUNT:g} and at +{AMOUNT:g}, walked in a "
                      "straight line")
    menu = QMenu(panel)
    menu.aboutToShow.connect(lambda: fill_menu(panel, menu))
    button.setMenu(menu)
    return button


def sources(workspace) -> list[tuple[str, np.ndarray]]:
    """(label, latent) of every face a segment may start from: Explore's face (its edited latent,
    before ψ), the photo in progress, the bookmarks."""
    face = workspace.explore
    out = [(face.source or "current face", face.edited())]
    photo = workspace.photo
    if photo is not None:
        out.append((f"photo {photo.get('name', '')}".strip(), photo["z"]))
    out += [(f"bookmark “{b.name}”", b.z) for b in workspace.bookmarks]
    return out


def fill_menu(panel, menu: QMenu) -> None:
    menu.clear()
    info = panel.workspace.model.info
    names = sorted(info.attributes) if info is not None else []
    if not names:
        menu.addAction("No named directions: teach one (Explore › Directions › Teach…)").setEnabled(False)
        return
    for name in names:
        sub = menu.addMenu(name)
        for label, z in sources(panel.workspace):
            sub.addAction(f"from {label}", lambda n=name, z=z, label=label: add_segment(panel, n, z, label))


def add_segment(panel, name: str, z, label: str) -> list[int]:
    """Two keyframes: z moved to −AMOUNT and +AMOUNT along `name`; the walk becomes lerp."""
    info = panel.workspace.model.info
    v = np.asarray(info.attributes[name], np.float32)
    z = np.asarray(z, np.float32).reshape(-1)
    keys = [panel.add_latent(z + t * v, f"{label} · {name} {t:+g}") for t in (-AMOUNT, AMOUNT)]
    if panel.interp.currentText() != "lerp":
        panel.interp.setCurrentText("lerp")
        panel.show_note(f"The walk is now lerp: the segment along {name} is a straight line")
    return [k for k in keys if k is not None]

"""Explore › Directions › Teach…, the attribute sliders' Keep… option and the principal directions'
'most like' tooltips, on a vivid tiny DCGAN checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.latent.attributes import read_attributes
from tests.gui.explore.test_explore_panel import NZ, load, make_checkpoint, wait_view


def test_teach_labels_fit_save_and_become_a_slider(qtbot, panel, tmp_path):
    from latentlab.gui.explore.teach import BATCH

    path = make_checkpoint(tmp_path / "g.safetensors")
    info = load(qtbot, panel, path)
    assert panel.directions.teach.isEnabled()
    dialog = panel.directions.open_teach()
    dialog.add_samples()
    assert len(dialog.buttons) == 2 * BATCH and dialog.z.shape == (2 * BATCH, NZ)
    assert not dialog.save.isEnabled()
    level = info.renderer.render_uint8(dialog.z).reshape(len(dialog.z), -1).mean(1)
    order = np.argsort(level)
    dialog.buttons[int(order[-1])].click()  # one click: has it
    assert dialog.labels[int(order[-1])] is True and "1 with, 0 without" in dialog.status.text()
    for i in order[-12:-1]:
        dialog.set_label(int(i), True)
    for i in order[:12]:
        dialog.buttons[int(i)].click()
        dialog.buttons[int(i)].click()  # two clicks: does not have it
    assert dialog.counts() == (12, 12)
    assert "held-out accuracy" in dialog.status.text()
    dialog.name.setText("bright")
    assert dialog.save.isEnabled()
    dialog.grab().save(str(tmp_path / "teach.png"))
    with qtbot.waitSignal(panel.directions.named_changed, timeout=5000):
        dialog.save.click()
    stored = read_attributes(path)
    assert list(stored) == ["bright"] and stored.kind("bright") == "taught" and stored.counts["bright"] == (12, 12)
    assert panel.attributes.names == ["bright"] and panel.tabs.currentIndex() == 2
    assert "classifier on labelled samples, 12 with / 12 without" in panel.attributes.sliders[0].toolTip()
    # The new slider brightens the face on screen.
    before = wait_view(qtbot, panel).astype(float).mean()
    panel.attributes.sliders[0].setValue(250)
    assert wait_view(qtbot, panel).astype(float).mean() > before
    # The principal directions' tooltips now name it.
    qtbot.waitUntil(lambda: panel.directions.bank.count() > 0, timeout=60000)
    assert "most like 'bright' (cosine" in panel.directions.bank.sliders[0].toolTip()


def test_keep_projects_one_attribute_off_another(qtbot, panel, tmp_path):
    from latentlab.gui.explore.conditional import keep_menu
    from latentlab.latent import save_attributes

    path = make_checkpoint(tmp_path / "g.safetensors")
    smile = np.zeros(NZ, np.float32)
    smile[:2] = 1.0
    glasses = np.zeros(NZ, np.float32)
    glasses[0] = 2.0
    save_attributes(tmp_path / "g.attributes.safetensors", {"smile": smile, "glasses": glasses})
    load(qtbot, panel, path)
    assert panel.attributes.names == ["glasses", "smile"]
    panel.attributes.sliders[1].setValue(100)  # +1 smile: moves z0 and z1
    np.testing.assert_allclose(panel.state.latent() - panel.state.base, smile, atol=1e-6)
    menu = keep_menu(panel.attributes, panel.state, 1, ["", ""])
    (action,) = menu.actions()
    assert action.text() == "Keep glasses" and not action.isChecked()
    action.setChecked(True)
    moved = panel.state.latent() - panel.state.base
    assert moved[0] == pytest.approx(0, abs=1e-6)  # glasses' coordinate is kept
    assert np.linalg.norm(moved) == pytest.approx(np.linalg.norm(smile), rel=1e-5)  # as far as before
    assert "smile ⟂ glasses" in [panel.attributes._grid.itemAtPosition(1, 0).widget().text()]
    action.setChecked(False)
    np.testing.assert_allclose(panel.state.latent() - panel.state.base, smile, atol=1e-6)


def test_from_folders_in_the_window(qtbot, panel, tmp_path):
    from PIL import Image

    path = make_checkpoint(tmp_path / "g.safetensors")
    load(qtbot, panel, path)
    rng = np.random.default_rng(1)
    for name, level in (("with", 210), ("without", 40)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.clip(rng.normal(level, 20, (40, 40, 3)), 0, 255).astype(np.uint8)).save(
                tmp_path / name / f"{i}.png")
    dialog = panel.directions.open_folders()
    dialog.run()
    assert "choose a direction name" in dialog.status.text().lower() or "Name" in dialog.status.text()
    dialog.name.setText("bright")
    dialog.with_dir.setText(str(tmp_path / "with"))
    dialog.without_dir.setText(str(tmp_path / "nowhere"))
    dialog.run()
    qtbot.waitUntil(lambda: not dialog.running() and dialog.start.isEnabled(), timeout=60000)
    assert "nowhere" in dialog.status.text()  # one line naming the missing folder; nothing stored
    assert read_attributes(path) is None
    dialog.without_dir.setText(str(tmp_path / "without"))
    with qtbot.waitSignal(panel.directions.named_changed, timeout=240000):
        dialog.run()
    stored = read_attributes(path)
    assert stored.kind("bright") == "folders" and stored.counts["bright"] == (3, 3)
    assert panel.attributes.names == ["bright"]


def test_a_direction_taught_on_an_imported_netg_is_there_when_it_is_imported_again(qtbot, panel, tmp_path):
    import torch

    from tests.gui.explore.test_explore_panel import reference_netg

    netg = tmp_path / "netG.pth"
    torch.save(reference_netg().state_dict(), netg)
    load(qtbot, panel, netg, how="import")
    dialog = panel.directions.open_teach()
    for i, label in enumerate([True, True, False, False]):
        dialog.set_label(i, label)
    dialog.name.setText("first")
    with qtbot.waitSignal(panel.directions.named_changed, timeout=5000):
        dialog.save.click()
    assert (tmp_path / "netG.attributes.safetensors").is_file() and panel.attributes.names == ["first"]
    load(qtbot, panel, make_checkpoint(tmp_path / "other.safetensors"))
    assert panel.attributes.names == []
    load(qtbot, panel, netg, how="import")
    assert panel.attributes.names == ["first"]

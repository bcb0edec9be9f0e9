"""The Train tab's source picker offers both modes of the built-in renderer."""

from latentlab.gui.train.setup import SourcePickerWidget


def test_synthetic_photos_are_a_source_of_their_own(qtbot):
    picker = SourcePickerWidget()
    qtbot.addWidget(picker)
    picker.show()
    labels = [picker.kind.itemText(i) for i in range(picker.kind.count())]
    assert "Synthetic photos" in labels and "Synthetic faces" in labels
    picker.set_spec("synthetic-photo")
    assert picker.spec() == "synthetic-photo" and picker.current_kind() == "synthetic-photo"
    assert not picker.path.isVisible()  # rendered, no folder to choose
    picker.set_spec("synthetic")
    assert picker.spec() == "synthetic"
    picker.set_spec("/data/faces")
    assert picker.spec() == "/data/faces" and picker.path.isVisible()

"""Export dialogs open in the folder last used, remembered with the app's settings."""

from __future__ import annotations


def test_an_export_dialog_opens_where_the_last_one_ended(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from latentlab.gui import settings
    from latentlab.gui.app import make_application
    from latentlab.gui.record.export import ask_video_path

    settings.use_settings_dir(tmp_path / "settings")
    make_application()
    shown = []
    answers = iter([str(tmp_path / "videos" / "walk"), str(tmp_path / "videos" / "again.gif")])
    (tmp_path / "videos").mkdir()

    def fake_dialog(parent, title, start, filters):
        shown.append(start)
        return next(answers), "MP4 video (*.mp4)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    assert ask_video_path(None, "Export the walk", "walk.mp4") == str(tmp_path / "videos" / "walk.mp4")
    ask_video_path(None, "Export the timelapse", "timelapse.mp4")
    assert shown == ["walk.mp4", str(tmp_path / "videos" / "timelapse.mp4")]
    # Kept in the settings file: a relaunch starts there too; a folder since deleted is not offered.
    assert settings.app_settings().value("folders/export") is not None
    assert settings.last_folder("export") == str(tmp_path / "videos")
    assert settings.last_folder("photo") == str(tmp_path / "videos")  # a kind not used yet starts there too
    (tmp_path / "videos").rmdir()
    assert settings.last_folder("export") == ""

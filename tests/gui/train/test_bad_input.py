"""Bad input gets a clear message in the window; nothing is lost and the window stays usable."""

import os

import pytest


def _wait_idle(panel, qtbot, timeout=30000):
    qtbot.waitUntil(lambda: panel.session is None and panel.state == "idle", timeout=timeout)


def _assert_usable(panel, form_value):
    assert panel.state == "idle"
    assert panel.start_action.isEnabled() and panel.form.isEnabled()
    assert panel.form.value("train.batch") == form_value  # the user's settings are untouched


def test_folder_without_images(window, qtbot, tiny, tmp_path):
    empty = tmp_path / "no-images"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    panel = window.train_panel
    tiny(panel)
    panel.source.set_spec(str(empty))
    assert panel.source.current_kind() == "folder"
    panel.start_action.trigger()
    _wait_idle(panel, qtbot)
    message = panel.banner.text()
    assert str(empty) in message and "no readable images" in message
    assert panel.alerts.messages("error")
    _assert_usable(panel, 8)
    assert panel.source.spec() == str(empty)


def test_directory_that_is_not_a_run(window, qtbot, tiny, tmp_path):
    panel = window.train_panel
    tiny(panel)
    not_run = tmp_path / "holiday-photos"
    not_run.mkdir()
    assert not window.open_path(not_run)
    assert "not a latentlab run directory" in panel.banner.text()
    assert str(not_run) in panel.banner.text()
    _assert_usable(panel, 8)
    assert panel.follower is None


def test_output_folder_that_cannot_be_created(window, qtbot, tiny, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    panel = window.train_panel
    tiny(panel)
    panel.output.set_value(blocker / "run")
    panel.start_action.trigger()
    _wait_idle(panel, qtbot)
    assert "cannot write the run directory" in panel.banner.text()
    assert str(blocker / "run") in panel.banner.text()
    _assert_usable(panel, 8)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder(window, qtbot, tiny, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        panel = window.train_panel
        tiny(panel)
        panel.output.set_value(locked / "run")
        panel.start_action.trigger()
        _wait_idle(panel, qtbot)
        assert "cannot write the run directory" in panel.banner.text()
        _assert_usable(panel, 8)
    finally:
        locked.chmod(0o700)


def test_output_folder_that_is_not_empty(window, qtbot, tiny, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("precious")
    panel = window.train_panel
    tiny(panel)
    panel.output.set_value(busy)
    assert not panel.start_training()
    assert "is not empty" in panel.banner.text()
    assert (busy / "thesis.tex").read_text() == "precious"
    _assert_usable(panel, 8)


def test_invalid_setting_and_missing_path(window, tiny):
    panel = window.train_panel
    tiny(panel, **{"train.l2_band_low": 2.0, "train.l2_band_high": 1.0})
    assert not panel.start_training()
    assert "l2_band_low" in panel.banner.text()
    tiny(panel)
    panel.source.set_spec("celeba:")
    assert not panel.start_training()
    assert "choose a folder" in panel.banner.text()
    _assert_usable(panel, 8)


def test_foreign_checkpoint_file(window, qtbot, tmp_path):
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"\x80\x04 pickled things, not a safetensors file")
    assert window.open_path(fake)
    panel = window.train_panel
    qtbot.waitUntil(lambda: "not a latentlab checkpoint" in panel.banner.text(), timeout=10000)
    _assert_usable(panel, panel.form.value("train.batch"))


def test_a_run_another_process_is_writing_is_refused_until_it_ends(tmp_path):
    """Start on a run folder checks the run's lock, not how recently its log changed: a quiet writer
    is refused by name, a run whose writer is gone resumes at once."""
    import subprocess
    import sys

    from latentlab.config import UserError
    from latentlab.gui.train.setup import check_output_dir

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text("name = 'x'\n")
    (run / "checkpoints" / "latest.safetensors").write_bytes(b"")
    (run / "metrics.jsonl").write_text('{"step": 1}\n')  # just written: the old mtime rule refused it
    assert check_output_dir(run) == (run, True)
    hold = ("import sys; from latentlab.run.lock import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); sys.stdin.read()")
    p = subprocess.Popen([sys.executable, "-c", hold, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"pid {p.pid} .* is writing this run right now"):
            check_output_dir(run)
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert check_output_dir(run) == (run, True)

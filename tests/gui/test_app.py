"""Application start-up: garbage collection runs on the GUI thread only."""

import gc
import threading


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    from latentlab.gui.app import make_application

    make_application()
    assert not gc.isenabled()
    threads = []

    def record(phase, info):
        if phase == "start":
            threads.append(threading.get_ident())

    gc.callbacks.append(record)
    try:
        def make_cycles():
            for _ in range(20_000):
                a, b = [], []
                a.append(b)
                b.append(a)

        worker = threading.Thread(target=make_cycles)
        worker.start()
        worker.join(60)
        assert threads == []  # the worker allocated far past gc's threshold, and nothing ran there
        qtbot.waitUntil(lambda: bool(threads), timeout=10000)
        assert set(threads) == {threading.main_thread().ident}
    finally:
        gc.callbacks.remove(record)


def test_a_missing_xcb_library_is_named_with_its_package():
    from latentlab.gui.app import missing_system_libraries

    def absent(name):
        raise OSError(f"{name}: cannot open shared object file")

    linux = __import__("sys").platform.startswith("linux")
    assert missing_system_libraries({"DISPLAY": ":0"}, load=absent) == (["libxcb-cursor0"] if linux else [])
    assert missing_system_libraries({"DISPLAY": ":0"}, load=lambda name: None) == []
    assert missing_system_libraries({"QT_QPA_PLATFORM": "offscreen"}, load=absent) == []  # only X11 needs it


def test_the_cli_says_which_package_to_install(monkeypatch, capsys):
    import latentlab.gui.app as app_module
    from latentlab.cli import main

    monkeypatch.setattr(app_module, "missing_system_libraries", lambda: ["libxcb-cursor0"])
    monkeypatch.setattr(app_module.QApplication, "instance", staticmethod(lambda: None))
    assert main(["gui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("latentlab: error: the window needs the system package libxcb-cursor0: install it "
                    "(sudo apt install libxcb-cursor0) or launch with scripts/run.sh, which does")]


def test_a_screenshot_of_a_checkpoint_waits_for_its_model(tiny_cli_run, tmp_path):
    """`latentlab gui CKPT --screenshot` shoots once the checkpoint's model is drawn (not the window
    before it loads), and the process ends cleanly with no worker left inside torch."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    from PIL import Image

    root = Path(__file__).resolve().parents[2]
    shot = tmp_path / "g.png"
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen",
               LATENTLAB_SETTINGS_DIR=str(tmp_path / "settings"))
    result = subprocess.run([sys.executable, "-m", "latentlab", "gui", str(tiny_cli_run / "checkpoints" /
                            "latest.safetensors"), "--screenshot", str(shot)], env=env, capture_output=True,
                            text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    assert "had not finished loading" not in result.stderr and "Traceback" not in result.stderr
    picture = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert picture.shape == (900, 1440)
    # The middle of Explore's view: the model's face (a barely trained G draws mid-grey), where the
    # window before the load shows its dark empty view.
    assert picture[340:400, 470:530].mean() > 60
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "settings") == ["g.png"]

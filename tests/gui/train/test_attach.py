"""Attach mode: following a run directory written by another process."""

import json
import subprocess
import sys

import numpy as np

# A stand-in for a remote trainer: appends one metrics row every 0.15 s (with its write time) and a
# sample grid every 5 rows, then finishes. Plain Python, so the test does not wait for torch to load.
WRITER = r"""
import json, os, sys, time
import numpy as np
from PIL import Image
from latentlab.config import load_preset
run = sys.argv[1]
os.makedirs(os.path.join(run, "samples"), exist_ok=True)
cfg = load_preset("tiny"); cfg.train.steps = 30
with open(os.path.join(run, ".config.toml.tmp"), "w") as f:  # whole or absent, as the trainer writes it
    f.write(cfg.to_toml())
os.replace(os.path.join(run, ".config.toml.tmp"), os.path.join(run, "config.toml"))
time.sleep(0.8)
rng = np.random.default_rng(0)
with open(os.path.join(run, "metrics.jsonl"), "a", buffering=1) as f:
    for step in range(1, 31):
        if step % 5 == 0:
            grid = rng.integers(0, 255, (34, 34, 3), dtype=np.uint8)
            tmp = os.path.join(run, "samples", ".tmp.png")
            Image.fromarray(grid).save(tmp)
            os.replace(tmp, os.path.join(run, "samples", f"step-{step:08d}.png"))
        row = {"step": step, "epoch": 0, "time": step * 0.1, "real": 0.6, "fake": 0.7, "gen": 0.8 + step / 100,
               "d_updated": True, "g_updated": step % 3 != 0, "l2_d": 0.0, "lr_d": 2e-4, "lr_g": 2e-4,
               "img_per_s": 50.0, "wall": time.time()}
        f.write(json.dumps(row) + "\n")
        time.sleep(0.15)
"""


def test_attach_follows_a_run_written_by_another_process(window, qtbot, tmp_path):
    run = tmp_path / "remote-run"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(run)])
    try:
        qtbot.waitUntil(lambda: (run / "config.toml").is_file(), timeout=20000)
        panel = window.train_panel
        assert window.open_path(run)
        assert panel.state == "attached"
        assert panel.total_steps == 30  # from the run's config.toml
        # Each new row shows while the writer is still going (how quickly is devtools/bench/gui.py's to measure).
        seen = 0
        while seen < 30:
            qtbot.waitUntil(lambda before=seen: panel.series.last_step() > before, timeout=20000)
            seen = panel.series.last_step()
        assert seen == 30
        assert panel.plots.point_count("gen") == 30
        assert np.allclose(panel.series.column("gen")[-1], 1.1)
        assert sorted(set(panel.plots.rugs["g_updated"].getData()[0])) == list(range(3, 31, 3))
        qtbot.waitUntil(lambda: panel.grid.count() == 6, timeout=3000)
        assert panel.grid.shown_step() == 30
        assert str(run.resolve()) in __import__("latentlab.gui.settings", fromlist=["x"]).recent_runs()
    finally:
        proc.wait(timeout=30)


def test_attach_to_a_cli_training_run(window, qtbot, tmp_path):
    """The real thing: `latentlab train` in another process, the window following it."""
    run = tmp_path / "cli-run"
    cmd = [sys.executable, "-m", "latentlab", "train", "--preset", "tiny", "--out", str(run), "--steps", "12",
           "--batch", "8", "--device", "cpu", "--quiet",
           "--set", "model.image_size=32", "--set", "latent_dim=16", "--set", "g_width=4", "--set", "d_width=4",
           "--set", "synthetic_count=64", "--set", "holdout=8", "--set", "sample_every=4",
           "--set", "sample_count=16", "--set", f"cache_dir={tmp_path / 'cache'}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        qtbot.waitUntil(lambda: (run / "config.toml").is_file() or proc.poll() is not None, timeout=60000)
        panel = window.train_panel
        assert window.open_path(run), panel.banner.text()
        qtbot.waitUntil(lambda: panel.series.last_step() == 12, timeout=60000)
        qtbot.waitUntil(lambda: panel.grid.count() == 3, timeout=5000)
        assert panel.grid.shown_step() == 12
        assert panel.plots.point_count("fake") == 12
        qtbot.waitUntil(lambda: any("training finished" in m for m in panel.alerts.messages()), timeout=5000)
    finally:
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode(errors="replace")


def test_detach_on_new_attach_and_recent_menu(window, qtbot, tmp_path):
    from latentlab.config import load_preset

    runs = []
    for name in ("a", "b"):
        run = tmp_path / name
        run.mkdir()
        (run / "config.toml").write_text(load_preset("tiny").to_toml())
        (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "gen": 1.0, "real": 0.5, "fake": 0.5}) + "\n")
        runs.append(run)
    panel = window.train_panel
    assert window.open_path(runs[0])
    first = panel.follower
    assert window.open_path(runs[1])
    assert not first.qthread.isRunning()
    titles = [a.text() for a in window.recent_menu.actions()]
    assert titles[:2] == [str(runs[1].resolve()), str(runs[0].resolve())]
    qtbot.waitUntil(lambda: panel.series.last_step() == 1, timeout=3000)

"""Benchmark: Explore panel slider move to pixels on screen, and memory over 10,000 slider moves.

A 64 px DCGAN generator (the dcgan preset's architecture, nz 100, ngf 64, seeded random weights:
latency does not depend on the weights) is loaded into the real ExplorePanel (offscreen Qt). One
sample = QSlider.setValue on a latent dimension -> the panel's request -> the render worker ->
image_ready -> the view's paintEvent for that request, timed with perf_counter. Measured with no
training, then while a tiny training runs in the same process through the app's TrainingSession
(its TrainWorker on a QThread, as when the Train panel trains). Memory: VmRSS from /proc/self/status
before and after 10,000 slider moves (every tenth waits for its picture, so about a thousand renders
and paints really happen). As in the window, the render worker uses every core while no training
runs and one while the training runs (the bench tells the panel, as the main window does).

Then the render alone, by backend and thread count, interleaved call by call on the same latent
(ratios to torch with one thread hold however busy the machine is): the reference torch path
(BatchNorm folded, channels_last) and ONNX Runtime, which the window uses for single images
(`backend="auto"`), with the largest pixel difference between them.

Last, load to first picture in fresh processes (the embedded demo model): the ONNX Runtime export
before the first render, against the window's way (torch renders at once, the export runs on its
own thread).

    .venv/bin/python -m devtools.bench.explorer [--moves 300] [--memory-moves 10000] [--backend auto|torch]
        [--first-picture 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"p50 {np.percentile(a, 50):6.2f} ms  p95 {np.percentile(a, 95):6.2f} ms  max {a.max():6.1f} ms  (n={len(a)})"


class Driver:
    """Moves a slider and waits (in a Qt event loop, not a busy spin) until that move is on screen."""

    def __init__(self, app, panel):
        from PySide6.QtCore import QEventLoop, QTimer

        self.app, self.panel = app, panel
        self.loop = QEventLoop()
        self.wanted = -1
        self.timeout = QTimer(singleShot=True, interval=5000)
        self.timeout.timeout.connect(self.loop.quit)
        panel.view.painted.connect(self._painted)
        self.slider = panel.dims.sliders[0]
        self.value = 0

    def _painted(self, frame_id: int) -> None:
        if frame_id >= self.wanted >= 0:
            self.loop.quit()

    def move(self, wait: bool = True) -> float:
        self.value = -self.value + (7 if self.value <= 0 else -7)  # alternate so every move changes z
        start = time.perf_counter()
        self.slider.setValue(self.value)
        if not wait:
            self.app.processEvents()
            return 0.0
        self.wanted = self.panel.last_request
        if self.panel.view.painted_id < self.wanted:
            self.timeout.start()
            self.loop.exec()
            self.timeout.stop()
        if self.panel.view.painted_id < self.wanted:
            raise RuntimeError("a slider move was not on screen within 5 s")
        return (self.panel.view.painted_at - start) * 1000

    def measure(self, n: int) -> tuple[list[float], list[float]]:
        lat, render = [], []
        for _ in range(n):
            lat.append(self.move())
            render.append(self.panel.rendering.render_ms)
        return lat, render


def backends(renderer, calls: int) -> None:
    """Render alone, one 64 px image: each backend and thread count in turn, call by call."""
    import torch

    from latentlab.gui.explore.render_worker import all_cores
    from latentlab.inference.render import Renderer

    master = renderer._masters["G"]
    paths = {"torch": Renderer(master), "onnxruntime": Renderer(master, backend="auto")}
    if paths["onnxruntime"].backend != "onnxruntime":
        del paths["onnxruntime"]
    z = np.random.default_rng(0).standard_normal((1, renderer.latent_dim)).astype(np.float32)
    runs = {(name, t): [] for name in paths for t in sorted({1, all_cores()})}
    images = {}
    for _ in range(5):
        for name, t in runs:
            images[name] = paths[name].render(z, t).images
    load = os.getloadavg()[0]
    for _ in range(calls):
        for (name, t), ms in runs.items():
            ms.append(paths[name].render(z, t).ms)
    base = np.median(runs[("torch", 1)])
    print(f"  render alone, one image, {calls} interleaved calls each (load average {load:.1f}):")
    for (name, t), ms in runs.items():
        print(f"    {name:11s} {t} thread(s): p50 {np.median(ms):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms  "
              f"= {np.median(ms) / base:.2f}x torch with 1 thread")
    if "onnxruntime" in images:
        diff = np.abs(images["onnxruntime"].astype(int) - images["torch"]).max()
        print(f"    largest pixel difference onnxruntime vs torch: {diff} (of 255)")
    torch.set_num_threads(1)


FIRST_PICTURE = """
import sys, time
import numpy as np
from latentlab.inference.render import Renderer
from latentlab.resources import demo_checkpoint
from latentlab.run.checkpoint import load_model
m = load_model(demo_checkpoint())
t = time.perf_counter()
if sys.argv[1] == "export-first":
    r = Renderer(m.G, m.E, backend="auto")
else:
    r = Renderer(m.G, m.E)
    r.enable_fast_path(background=True)
r.render(np.zeros((1, m.G.latent_dim), np.float32))
print((time.perf_counter() - t) * 1000)
r.wait_fast_path(120)
"""


def first_picture(runs: int) -> None:
    """Median milliseconds from a loaded model to its first picture, each way, in fresh processes
    (the first export of a process also imports torch.onnx), interleaved."""
    import statistics
    import subprocess

    root = Path(__file__).resolve().parents[2]
    times = {"export-first": [], "background": []}
    for _ in range(runs):
        for way, got in times.items():
            out = subprocess.run([sys.executable, "-c", FIRST_PICTURE, way], capture_output=True, text=True,
                                 cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True)
            got.append(float(out.stdout.split()[-1]))
    a, b = (statistics.median(times[w]) for w in times)
    print(f"load to first picture (demo model, {runs} fresh processes each): export first {a:.0f} ms, "
          f"export in the background {b:.0f} ms ({b / a:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=300, help="timed slider moves per condition")
    ap.add_argument("--memory-moves", type=int, default=10_000)
    ap.add_argument("--backend", default="auto", choices=("auto", "torch"), help="the Renderer's backend")
    ap.add_argument("--backend-calls", type=int, default=200, help="render-alone calls per backend")
    ap.add_argument("--first-picture", type=int, default=3, help="fresh processes per way of loading (0: skip)")
    args = ap.parse_args()
    if args.first_picture:
        first_picture(args.first_picture)

    tmp = Path(tempfile.mkdtemp(prefix="latentlab-bench-explorer-"))
    os.environ["LATENTLAB_CACHE"] = str(tmp / "cache")
    import torch

    import latentlab.gui  # noqa: F401
    from latentlab.config import Config, load_preset
    from latentlab.gui.app import make_application
    from latentlab.gui.explore.panel import ExplorePanel
    from latentlab.gui.settings import use_settings_dir
    from latentlab.models import build_models
    from latentlab.run.checkpoint import save_checkpoint

    use_settings_dir(tmp / "settings")
    app = make_application()
    cfg = Config(name="bench", model=load_preset("dcgan").model)  # 64 px, nz 100, ngf 64
    torch.manual_seed(0)
    G = build_models(cfg.model)["G"]
    ckpt = save_checkpoint(tmp / "dcgan64.safetensors", {f"G.{k}": v for k, v in G.state_dict().items()},
                           {"config": cfg.to_toml(), "arch": "dcgan", "step": 0})

    panel = ExplorePanel()
    panel.resize(1280, 800)
    panel.demo_on_first_show = False  # this generator, not the embedded demo model
    panel.show()
    try:
        run(args, app, panel, ckpt, tmp)
    finally:
        panel.shutdown(5.0)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, app, panel, ckpt, tmp) -> None:
    import torch

    from latentlab.config import load_preset
    from latentlab.gui.state.loading import load_checkpoint_model
    from latentlab.gui.train.worker import TrainingSession

    def build():
        info = load_checkpoint_model(ckpt, device="cpu")
        if args.backend == "torch":
            from latentlab.inference.render import Renderer

            info.renderer = Renderer(info.renderer._masters["G"], device="cpu")
        return info

    panel.service.worker.load(build)
    deadline = time.monotonic() + 60
    while panel.info is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if panel.info is None:
        sys.exit(f"model did not load: {panel.banner.text()}")
    panel.directions.job.cancel()  # measure sliders, not the background PCA
    panel.directions.job.wait(30)
    driver = Driver(app, panel)
    for _ in range(30):  # warm-up: oneDNN primitive caches, first paints
        driver.move()

    load1 = os.getloadavg()[0]
    paused, paused_render = driver.measure(args.moves)

    train_cfg = load_preset("tiny")
    train_cfg.data.synthetic_count, train_cfg.data.cache_dir = 2000, str(tmp / "cache")
    train_cfg.train.steps, train_cfg.train.device = 1_000_000, "cpu"
    session = TrainingSession(train_cfg, tmp / "run")
    panel.workspace.set_training("training")  # what the Train panel tells the Workspace when it starts
    steps = []
    session.worker.step_finished.connect(lambda row: steps.append(row["step"]))
    session.start()
    deadline = time.monotonic() + 120
    while len(steps) < 3 and time.monotonic() < deadline:  # the data set is decoded and steps are running
        app.processEvents()
        time.sleep(0.02)
    load2 = os.getloadavg()[0]
    first_step = steps[-1] if steps else 0
    t0 = time.perf_counter()
    training, training_render = driver.measure(args.moves)
    elapsed = time.perf_counter() - t0
    app.processEvents()
    steps_during = (steps[-1] if steps else 0) - first_step
    session.stop(wait_ms=30_000)
    panel.workspace.set_training("idle")
    app.processEvents()

    for _ in range(500):  # settle allocator pools before the memory baseline
        driver.move(wait=False)
    driver.move()
    gc.collect()
    before = rss_mb()
    renders = panel.service.worker.renders
    t0 = time.perf_counter()
    for i in range(args.memory_moves):
        driver.move(wait=i % 10 == 9)
    driver.move()
    mem_s = time.perf_counter() - t0
    gc.collect()
    after = rss_mb()

    from latentlab.gui.explore.render_worker import all_cores

    print(f"bench_explorer: 64 px DCGAN generator (nz 100, ngf 64), {panel.info.renderer.backend} backend, render "
          f"worker with {all_cores()} intra-op threads paused and 1 while training, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"  slider move -> pixels on screen, training paused : {percentiles(paused)}   "
          f"[render alone p50 {np.median(paused_render):.2f} ms; load average {load1:.1f}]")
    print(f"  slider move -> pixels on screen, while training  : {percentiles(training)}   "
          f"[render alone p50 {np.median(training_render):.2f} ms; {steps_during} tiny training steps "
          f"({steps_during / elapsed:.1f}/s) ran meanwhile; load average {load2:.1f}]")
    backends(panel.info.renderer, args.backend_calls)
    print(f"  {args.memory_moves:,} slider moves in {mem_s:.1f} s ({panel.service.worker.renders - renders:,} "
          f"renders): resident memory {before:.0f} MB -> {after:.0f} MB, growth {after - before:+.1f} MB")


if __name__ == "__main__":
    main()

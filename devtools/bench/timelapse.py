"""Benchmark: a 2000-step run's sample grids written as a 512 px H.264 timelapse (`latentlab timelapse`).

The grids are synthesized like the `tiny` preset's (8x8 faces of 32 px, 274 px PNGs written by the
trainer's own save_png): 64 synthetic faces that emerge from noise over the run, so each frame
differs from the last as a training timelapse's do. Prints frames/s (grids on disk to a closed MP4),
the CPU time per frame summed over all threads (which a busy shared machine inflates far less than
the wall time), and the peak resident memory of a process writing a short and a long timelapse,
which stays flat when frames are streamed.

    .venv/bin/python -m devtools.bench.timelapse [--grids 2000] [--size 512] [--repeats 3] [--preset veryfast]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def synthesize(run: Path, grids: int) -> None:
    from latentlab.data.synthetic_render import render_many
    from latentlab.run.grids import save_png, tile
    from latentlab.run.layout import RunLayout

    layout = RunLayout(run)
    layout.samples.mkdir(parents=True)
    layout.config.write_text('name = "bench"\n')
    faces = render_many(0, 64, 32)[0].astype(np.float32)
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 60, faces.shape).astype(np.float32)
    with open(layout.metrics, "w") as f:
        for i in range(grids):
            t = min(1.0, (i + 1) / (0.6 * grids))  # faces emerge over the first 60% of the run
            jitter = rng.normal(0, 6, faces.shape).astype(np.float32)
            images = np.clip((1 - t) * noise + t * faces + jitter, 0, 255).astype(np.uint8)
            save_png(tile(images), layout.sample(i + 1))
            f.write(json.dumps({"step": i + 1, "epoch": (i + 1) // 155}) + "\n")


def one(run: str, out: str, size: int, stop: int | None, label: bool, preset: str, crf: int | None) -> dict:
    from latentlab.media.timelapse import write_timelapse

    cpu0 = os.times()
    result = write_timelapse(run, out, fps=30, size=size, stop=stop, label=label, preset=preset, crf=crf)
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at fork and survives exec
    with open("/proc/self/status") as f:
        peak_mb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    return {"frames": result.frames, "seconds": result.seconds, "fps": result.frames / result.seconds,
            "cpu_ms_per_frame": 1000 * cpu / result.frames,
            "peak_mb": peak_mb, "size": f"{result.width}x{result.height}", "bytes": Path(out).stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, default=2000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3, help="runs; the best is reported (shared machine)")
    ap.add_argument("--label", action="store_true")
    from latentlab.media.timelapse import TIMELAPSE_PRESET

    ap.add_argument("--preset", default=TIMELAPSE_PRESET, help=f"x264 preset (default: {TIMELAPSE_PRESET})")
    ap.add_argument("--crf", type=int, help="x264 crf (default: the timelapse's own)")
    ap.add_argument("--child", nargs=4, metavar=("RUN", "OUT", "STOP", "LABEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run, out, stop, label = args.child
        print(json.dumps(one(run, out, args.size, int(stop) or None, label == "1", args.preset, args.crf)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        started = time.perf_counter()
        synthesize(run, args.grids)
        print(f"synthesized {args.grids} grids in {time.perf_counter() - started:.1f} s")

        def child(stop: int) -> dict:
            out = Path(tmp) / f"t{stop}.mp4"
            cmd = [sys.executable, "-m", "devtools.bench.timelapse", "--size", str(args.size), "--preset", args.preset,
                   *(["--crf", str(args.crf)] if args.crf is not None else []),
                   "--child", str(run), str(out), str(stop), "1" if args.label else "0"]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
            out.unlink()
            return res

        runs = [child(0) for _ in range(args.repeats)]
        best = max(runs, key=lambda r: r["fps"])
        short = child(max(1, args.grids // 8))
        all_fps = ", ".join(f"{r['fps']:.0f}" for r in runs)
        crf = "default" if args.crf is None else args.crf
        print(f"{best['frames']} frames, {best['size']} H.264 ({args.preset}, crf {crf}): {best['fps']:.0f} frames/s "
              f"(best of {args.repeats}: {all_fps}), {best['seconds']:.2f} s, {best['bytes'] / 2**20:.1f} MiB")
        print(f"CPU time: {best['cpu_ms_per_frame']:.2f} ms per frame over all threads (two idle cores kept busy "
              f"would give about {2000 / best['cpu_ms_per_frame']:.0f} frames/s)")
        print(f"peak resident memory: {short['peak_mb']:.0f} MB for {short['frames']} frames, "
              f"{best['peak_mb']:.0f} MB for {best['frames']} frames")


if __name__ == "__main__":
    main()

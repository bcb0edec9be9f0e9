"""Start-up after a non-editable install: `latentlab sample` cold start and launch-to-window.

  .venv/bin/python -m devtools.bench.install              # 5 runs of each
  .venv/bin/python -m devtools.bench.install --runs 3 --json install.json

Builds the wheel, installs it into a fresh venv (devtools/wheel_venv.py: dependencies borrowed from
this interpreter, nothing downloaded), then from a folder outside the checkout:
(a) sample: `latentlab sample DEMO --out grid.png --n 64` on the bundled demo, timed from just before
    the process is spawned until it has exited with the PNG written. The first run after the install
    is reported apart (the OS file cache may still be cold for torch's libraries); then the median.
(b) window: a fresh process of the venv's python, from spawn to the main window's first paint
    (the child of devtools/bench/gui.py, run by the installed package); median of N.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from devtools.bench.gui import LAUNCH_CHILD
from devtools.wheel_venv import build_wheel, install_into_new_venv, isolated_env, run


def timed(cmd, cwd, env) -> tuple[float, str]:
    started = time.time()
    result = run(cmd, cwd=cwd, env=env)
    return time.time() - started, result.stdout


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="runs of each measurement")
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="latentlab-bench-install-") as tmp:
        base = Path(tmp)
        started = time.time()
        wheel = build_wheel(base / "dist")
        bindir = install_into_new_venv(wheel, base / "venv")
        install_s = time.time() - started
        env = isolated_env(bindir, base)
        work = base / "work"
        work.mkdir()
        demo = run([bindir / "python", "-c", "from latentlab.resources import demo_checkpoint as d; print(d())"],
                   cwd=work, env=env).stdout.strip()
        sample = [timed([bindir / "latentlab", "sample", demo, "--out", "grid.png", "--n", "64"], work, env)[0]
                  for _ in range(args.runs + 1)]
        if not (work / "grid.png").is_file():
            raise SystemExit("latentlab sample wrote no grid.png")
        window = []
        for _ in range(args.runs):
            spawned = time.time()
            out = run([bindir / "python", "-c", LAUNCH_CHILD, repr(spawned)], cwd=work, env=env).stdout
            window.append(float(next(x for x in out.splitlines() if x.startswith("LAUNCH ")).split()[1]))
    figures = {
        "build_and_install_s": round(install_s, 2),
        "sample_first_s": round(sample[0], 3),
        "sample_median_s": round(statistics.median(sample[1:]), 3),
        "sample_all_s": [round(t, 3) for t in sample],
        "window_median_s": round(statistics.median(window), 3),
        "window_all_s": [round(t, 3) for t in window],
    }
    print(f"wheel built and installed in {figures['build_and_install_s']} s")
    print(f"latentlab sample (64 faces from the demo, spawn to PNG written): first {figures['sample_first_s']} s, "
          f"median of {args.runs} {figures['sample_median_s']} s")
    print(f"app launch to window shown: median of {args.runs} {figures['window_median_s']} s "
          f"(all: {figures['window_all_s']})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

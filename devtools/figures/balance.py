"""Compare training runs for balance: share of steps with `gen` inside the adaptive-L2 band, the
alerts raised, D/G skips; a loss plot of the runs side by side and each run's final sample grid.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m devtools.figures.balance \\
        "without the rules=runs/tiny-off" "with the rules=runs/tiny-on" --out docs/images/tiny-balance

writes PREFIX-losses.png and PREFIX-grid-1.png, PREFIX-grid-2.png, ... (the final grid of each run)
and prints a Markdown table of the figures. The band is the run's own `train.l2_band_low/high`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

UNBALANCED = ("saturation", "collapse", "duplicates", "gen_band", "nan", "nan_samples", "skip_storm")


def read_run(path: Path) -> dict:
    from latentlab.run.layout import RunLayout

    run = RunLayout(path)
    rows = [json.loads(line) for line in run.metrics.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in run.events.read_text().splitlines() if line.strip()]
    cfg = tomllib.loads(run.config.read_text())
    train = cfg.get("train", {})
    band = (float(train.get("l2_band_low", 0.9)), float(train.get("l2_band_high", 1.3)))
    grids = run.grids()
    return {"rows": rows, "events": events, "band": band, "grid": grids[-1][1] if grids else None}


def summary(run: dict) -> dict:
    rows = run["rows"]
    gen = np.array([r["gen"] for r in rows])
    low, high = run["band"]
    alerts = [f"{e['data'].get('kind')} at {e['step']}" for e in run["events"]
              if e["kind"] == "alert" and e.get("data", {}).get("kind") in UNBALANCED]
    return {"steps": len(rows), "in_band": float(((gen >= low) & (gen <= high)).mean()),
            "median_gen": float(np.median(gen)),
            "real": float(np.median([r["real"] for r in rows])), "fake": float(np.median([r["fake"] for r in rows])),
            "d_skipped": float(np.mean([not r["d_updated"] for r in rows])),
            "g_skipped": float(np.mean([not r["g_updated"] for r in rows])),
            "alerts": alerts, "minutes": rows[-1]["time"] / 60 if rows else 0.0}


def smooth(values: np.ndarray, n: int = 25) -> np.ndarray:
    if len(values) < n:
        return values
    kernel = np.ones(n) / n
    head = np.cumsum(values[: n - 1]) / np.arange(1, n)
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])


def plot(runs: list[tuple[str, dict]], out: Path) -> None:
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    layout = pg.GraphicsLayoutWidget()
    layout.resize(520 * len(runs), 560)
    colors = {"real": (31, 119, 180), "fake": (214, 39, 40), "gen": (44, 160, 44)}
    gen_max = max(float(np.percentile([r["gen"] for r in run["rows"]], 99)) for _, run in runs) * 1.1
    for col, (label, run) in enumerate(runs):
        rows = run["rows"]
        steps = np.array([r["step"] for r in rows], float)
        top = layout.addPlot(row=0, col=col, title=f"{label}: real and fake")
        top.addLegend(offset=(-10, 10))
        for key in ("real", "fake"):
            values = np.array([r[key] for r in rows])
            top.plot(steps, values, pen=pg.mkPen(colors[key] + (50,), width=1))
            top.plot(steps, smooth(values), pen=pg.mkPen(colors[key], width=2), name=key)
        top.addLine(y=np.log(2), pen=pg.mkPen((120, 120, 120), style=pg.QtCore.Qt.DashLine))
        top.setYRange(0, 1.2)
        bottom = layout.addPlot(row=1, col=col, title=f"{label}: gen and the L2 band")
        low, high = run["band"]
        band = pg.LinearRegionItem((low, high), orientation="horizontal", movable=False,
                                   brush=pg.mkBrush(44, 160, 44, 40), pen=pg.mkPen(None))
        bottom.addItem(band)
        gen = np.array([r["gen"] for r in rows])
        bottom.plot(steps, gen, pen=pg.mkPen(colors["gen"] + (50,), width=1))
        bottom.plot(steps, smooth(gen), pen=pg.mkPen(colors["gen"], width=2))
        bottom.setYRange(0, gen_max)
        bottom.setLabel("bottom", "step")
    layout.show()  # laid out at its full size only once shown (offscreen: nothing appears)
    app.processEvents()
    exporter = ImageExporter(layout.scene())
    exporter.parameters()["width"] = 520 * len(runs)
    exporter.export(str(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    p.add_argument("--out", required=True, help="prefix of the PNGs written")
    args = p.parse_args(argv)
    runs = []
    for spec in args.runs:
        label, _, folder = spec.rpartition("=")
        runs.append((label or Path(folder).name, read_run(Path(folder))))
    prefix = Path(args.out)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    plot(runs, prefix.with_name(prefix.name + "-losses.png"))
    print("| run | steps | gen in band | median gen | median real / fake | D / G skipped | alerts | minutes |")
    print("|---|---|---|---|---|---|---|---|")
    for i, (label, run) in enumerate(runs, 1):
        s = summary(run)
        low, high = run["band"]
        print(f"| {label} | {s['steps']} | {s['in_band']:.0%} ({low:g}–{high:g}) | {s['median_gen']:.2f} | "
              f"{s['real']:.2f} / {s['fake']:.2f} | {s['d_skipped']:.0%} / {s['g_skipped']:.0%} | "
              f"{', '.join(s['alerts']) or 'none'} | {s['minutes']:.0f} |")
        if run["grid"] is not None:
            shutil.copyfile(run["grid"], prefix.with_name(f"{prefix.name}-grid-{i}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

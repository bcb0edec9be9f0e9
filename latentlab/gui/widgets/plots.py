"""Live training plots: D's errors and G's error (each on its own panel, with the ln 2 line), skipped
updates, D's L2 and learning rates.

The error panels scale to the bulk of the data (a high quantile), not to rare spikes: a single step at
15 would flatten everything else to a line at 0. Points above the top are clipped by the view and
marked with a triangle at the edge, so spikes stay visible. Either panel can use a log axis.

Everything is drawn from a MetricSeries with setData on views of its growing buffers; clip-to-view
and peak downsampling keep a million points interactive (pyqtgraph's scrollingPlots pattern).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from latentlab.gui.state.series import MetricSeries
from latentlab.gui.theme import CURVE_COLORS, MUTED

LN2 = math.log(2.0)
LOSS_KEYS = ("real", "fake", "gen")
VAE_KEYS = ("kl", "llike")
GEN_PANEL_KEYS = ("gen",) + VAE_KEYS  # the generator side: G's error (and the VAE/GAN's kl and llike)
ROBUST_QUANTILE = 0.99  # the top of an error panel: this quantile of its raw values, plus headroom
ROBUST_HEADROOM = 1.25
MAX_SPIKE_MARKS = 2000
# Curves that may coincide are told apart by width and dash: the first drawn wide and solid underneath,
# the second narrower and dashed on top, so both colours show where they overlap (lr_d = lr_g is the
# usual case; real and fake near equilibrium another).
STYLES = {"real": (2.6, Qt.SolidLine), "fake": (1.4, Qt.DashLine), "lr_d": (3.0, Qt.SolidLine),
          "lr_g": (1.4, Qt.DashLine), "kl": (1.6, Qt.DashLine), "llike": (1.6, Qt.DotLine)}
RATE_KEYS = ("lr_d", "lr_g")
MAX_RUG_TICKS = 3000
# Peak downsampling keeps spikes (a NaN or an exploding loss stays visible); about one min/max pair
# per pixel column is all a screen can show, and more only adds overdraw.
DOWNSAMPLE = {"autoDownsampleFactor": 1.0}


def _pen(key: str, width: float = 1.6, alpha: int = 255, style=Qt.SolidLine):
    color = QColor(CURVE_COLORS[key])
    color.setAlpha(alpha)
    return pg.mkPen(color, width=width, style=style)


def _style_plot(plot: pg.PlotItem) -> None:
    plot.showGrid(x=True, y=True, alpha=0.18)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.getViewBox().setMouseMode(pg.ViewBox.RectMode)
    plot.setMenuEnabled(True)
    for side in ("left", "bottom", "right"):
        axis = plot.getAxis(side)
        axis.setTextPen(pg.mkPen(MUTED))
        axis.setPen(pg.mkPen("#3a3f48"))
        axis.enableAutoSIPrefix(False)
    # Equal axis widths on both sides keep the stacked plots' step axes aligned; the right axis is
    # blank except where the rates plot shows D's L2 there.
    plot.getAxis("left").setWidth(62)
    plot.showAxis("right")
    _blank_axis(plot.getAxis("right"), True)


def _blank_axis(axis: pg.AxisItem, blank: bool) -> None:
    axis.setWidth(62)
    axis.setStyle(showValues=not blank)
    axis.setPen(pg.mkPen(0, 0, 0, 0) if blank else pg.mkPen("#3a3f48"))
    axis.showLabel(not blank)


def _compact(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.4g}"


class CompactAxis(pg.AxisItem):
    """Linear ticks written 1.5e-4 rather than 0.00015 (or a clipped "1")."""

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        return [_compact(v * scale) for v in values]


class CompactLogAxis(pg.AxisItem):
    """Log-axis ticks at 1, 2 and 5 of each decade, written 2e-4 (not 0.0002 or 2·10⁻⁴), so a short
    plot with a narrow axis stays legible."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        levels = []
        for spacing, values in super().logTickValues(minVal, maxVal, size, stdTicks):
            mantissas = [round(10 ** (v - math.floor(v + 1e-9)), 3) for v in values]
            levels.append((spacing, [v for v, m in zip(values, mantissas) if m in (1.0, 2.0, 5.0)]))
        return levels

    def logTickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            text = f"{10 ** (v * scale):.0e}"
            mantissa, exponent = text.split("e")
            out.append(f"{mantissa}e{int(exponent)}")
        return out


class MetricsPlotWidget(pg.GraphicsLayoutWidget):
    """D's errors (top), G's error (below), a rug of skipped D/G updates and rates (bottom), sharing
    the step axis."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ci.layout.setSpacing(2)
        self.ci.setContentsMargins(4, 6, 8, 4)
        self.raw = {}
        self.curves = {}
        self.log_y = False
        self._robust_y = {}  # plot -> True while its y range follows the data (until the user zooms it)
        self.spikes = {}  # plot -> the triangles marking clipped points

        self.loss_plot = self.addPlot(row=0, col=0)
        self.gen_plot = self.addPlot(row=1, col=0)
        self.legends = {}
        self.equilibria = {}
        for plot, label in ((self.loss_plot, "D's errors"), (self.gen_plot, "G's error")):
            _style_plot(plot)
            plot.setLabel("left", label)
            plot.hideAxis("bottom")
            self.legends[plot] = plot.addLegend(offset=(-8, 6), colCount=4, labelTextColor=MUTED,
                                                brush=pg.mkBrush(26, 29, 34, 200))
            line = pg.InfiniteLine(pos=LN2, angle=0, movable=False, pen=_pen("equilibrium", 1.2, 200, Qt.DashLine))
            line.setZValue(-5)
            plot.addItem(line, ignoreBounds=True)
            self.equilibria[plot] = line
            self._robust_y[plot] = True
            plot.getViewBox().sigRangeChangedManually.connect(lambda *_, p=plot: self._user_zoomed(p))
            marks = pg.ScatterPlotItem(symbol="t1", size=9, pen=pg.mkPen(None), brush=pg.mkBrush(MUTED))
            marks.setZValue(10)
            plot.addItem(marks, ignoreBounds=True)
            self.spikes[plot] = marks
        self.legend = self.legends[self.loss_plot]
        self.gen_plot.setXLink(self.loss_plot)
        self.equilibrium = self.equilibria[self.loss_plot]
        for key in LOSS_KEYS:  # a VAE/GAN's kl and llike are added when a run has them
            self._add_loss_curve(key)
        # The legend draws its swatch from a data item's pen (an InfiniteLine cannot be a legend entry).
        self._equilibrium_swatch = pg.PlotDataItem(pen=_pen("equilibrium", 1.2, 200, Qt.DashLine))
        self.legend.addItem(self._equilibrium_swatch, "ln 2 ≈ 0.693")
        self._spike_swatch = pg.PlotDataItem(symbol="t1", symbolSize=9, pen=None, symbolPen=None,
                                             symbolBrush=pg.mkBrush(MUTED))
        self.legends[self.gen_plot].addItem(self._spike_swatch, "clipped spike")

        self.skip_plot = self.addPlot(row=2, col=0)
        _style_plot(self.skip_plot)
        self.skip_plot.setDownsampling(auto=False)
        self.skip_plot.hideAxis("bottom")
        self.skip_plot.setMouseEnabled(x=True, y=False)
        self.skip_plot.setYRange(0, 2, padding=0.05)
        self.skip_plot.getAxis("left").setTicks([[(0.5, "G skip"), (1.5, "D skip")]])
        self.skip_plot.setMaximumHeight(44)
        self.skip_plot.setXLink(self.loss_plot)
        self.rugs = {
            "d_updated": pg.PlotCurveItem(pen=_pen("skip_d", 1.0), connect="pairs"),
            "g_updated": pg.PlotCurveItem(pen=_pen("skip_g", 1.0), connect="pairs"),
        }
        for item in self.rugs.values():
            self.skip_plot.addItem(item)

        self.rate_plot = self.addPlot(row=3, col=0, axisItems={"left": CompactLogAxis("left"),
                                                                 "right": CompactAxis("right")})
        _style_plot(self.rate_plot)
        # The curves get log10 values from the series; only the axis is told it is logarithmic.
        self.rate_plot.getAxis("left").setLogMode(False, True)
        self.rate_plot.setLabel("left", "learning rate")
        self.rate_plot.setLabel("bottom", "step")
        self.rate_plot.setXLink(self.loss_plot)
        # The rates are mostly flat lines across the whole plot: a legend inside would sit on them, so
        # it gets its own row under the plot.
        self.rate_legend = pg.LegendItem(colCount=3, labelTextColor=MUTED)
        self.addItem(self.rate_legend, row=4, col=0)
        self.rate_legend.setMaximumSize(360, 28)
        self.ci.layout.setAlignment(self.rate_legend, Qt.AlignLeft | Qt.AlignTop)
        self.rates = {key: self.rate_plot.plot(pen=_pen(key, STYLES[key][0], style=STYLES[key][1]), connect="finite", **DOWNSAMPLE)
                      for key in RATE_KEYS}
        for key, curve in self.rates.items():
            self.rate_legend.addItem(curve, key)
        # D's L2 coefficient lives on its own linear axis: it starts at 0, which a log axis cannot show.
        self.l2_view = pg.ViewBox()
        self.rate_plot.scene().addItem(self.l2_view)
        self.rate_plot.getAxis("right").linkToView(self.l2_view)
        self.rate_plot.getAxis("right").setLabel("D's L2", color=CURVE_COLORS["l2_d"])
        self.l2_view.setXLink(self.rate_plot)
        self.l2_curve = pg.PlotDataItem(pen=_pen("l2_d"), connect="finite", **DOWNSAMPLE)
        # Not in a PlotItem, so the plot-wide clip/downsample settings do not reach it.
        self.l2_curve.setClipToView(True)
        self.l2_curve.setDownsampling(auto=True, method="peak")
        self.l2_view.addItem(self.l2_curve)
        self._l2_shown = True
        self._show_l2(False)  # until the adaptive-L2 rule gives it a non-zero value
        self.rate_plot.getViewBox().sigResized.connect(self._sync_l2_view)

        # Axis text and legends are replayed from QPictures on every repaint; as cached pixmaps they
        # are redrawn only when they change (the repaint after each new step costs half as much).
        for plot in (self.loss_plot, self.gen_plot, self.skip_plot, self.rate_plot):
            for side in ("left", "bottom", "right"):
                plot.getAxis(side).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        for legend in (*self.legends.values(), self.rate_legend):
            legend.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

        for row, stretch in enumerate((4, 3, 1, 3)):
            self.ci.layout.setRowStretchFactor(row, stretch)
        self.loss_plot.sigXRangeChanged.connect(lambda *_: self._draw_rugs())
        self._series: MetricSeries | None = None
        self._empty_ranges()

    def plot_of(self, key: str) -> pg.PlotItem:
        return self.gen_plot if key in GEN_PANEL_KEYS else self.loss_plot

    def _add_loss_curve(self, key: str) -> None:
        plot = self.plot_of(key)
        width, style = STYLES.get(key, (1.8, Qt.SolidLine))
        self.raw[key] = plot.plot(pen=_pen(key, 1.0, 50), connect="finite", **DOWNSAMPLE)
        self.curves[key] = plot.plot(pen=_pen(key, width, style=style), connect="finite", name=key, **DOWNSAMPLE)

    def set_log_y(self, on: bool) -> None:
        """A log axis for both error panels (the data go in as log10; the axes are told)."""
        self.log_y = bool(on)
        for plot in (self.loss_plot, self.gen_plot):
            plot.setLogMode(False, self.log_y)
            self.equilibria[plot].setPos(math.log10(LN2) if self.log_y else LN2)  # lines live in view units
            self._robust_y[plot] = True
        if self._series is not None:
            self.refresh(self._series)

    def _user_zoomed(self, plot) -> None:
        self._robust_y[plot] = False

    def follow_data(self) -> None:
        """Back to the robust ranges after the user zoomed (and the step axis to the whole run)."""
        for plot in self._robust_y:
            self._robust_y[plot] = True
        self.loss_plot.enableAutoRange(x=True)
        if self._series is not None:
            self.refresh(self._series)

    def _robust_range(self, plot, columns: list[np.ndarray], x: np.ndarray) -> None:
        """y from 0 (or the lowest decade on a log axis) to a high quantile of the raw values plus
        headroom; the points above it are marked at the top edge."""
        marks = self.spikes[plot]
        values = np.concatenate([c[np.isfinite(c)] for c in columns]) if columns else np.zeros(0)
        if self.log_y:
            values = values[values > 0]
        if not len(values):
            marks.setData([], [])
            return
        top = float(np.quantile(values, ROBUST_QUANTILE)) * ROBUST_HEADROOM
        if plot is self.loss_plot:
            top = max(top, LN2 * 1.2)  # the equilibrium line stays in view
        if self.log_y:
            bottom = float(np.quantile(values, 1 - ROBUST_QUANTILE)) / ROBUST_HEADROOM
            y0, y1 = math.log10(max(bottom, 1e-12)), math.log10(max(top, bottom * 1.01, 1e-12))
        else:
            y0, y1 = 0.0, max(top, 1e-6)
        if self._robust_y[plot]:
            plot.getViewBox().enableAutoRange(y=False)
            plot.setYRange(y0, y1, padding=0.02)
        limit = 10 ** y1 if self.log_y else y1
        over = np.zeros(len(x), bool)
        for c in columns:
            over |= np.nan_to_num(c, nan=0.0, posinf=np.inf) > limit
        steps = x[over][-MAX_SPIKE_MARKS:]
        marks.setData(steps, np.full(len(steps), plot.getViewBox().viewRange()[1][1]))

    def _sync_l2_view(self) -> None:
        self.l2_view.setGeometry(self.rate_plot.getViewBox().sceneBoundingRect())
        self.l2_view.linkedViewChanged(self.rate_plot.getViewBox(), self.l2_view.XAxis)

    # -- data -------------------------------------------------------------------------------------
    def clear_data(self) -> None:
        for key in [k for k in self.curves if k not in LOSS_KEYS]:  # the next run may have no kl/llike
            plot = self.plot_of(key)
            self.legends[plot].removeItem(self.curves[key])
            plot.removeItem(self.curves.pop(key))
            plot.removeItem(self.raw.pop(key))
        for item in (*self.raw.values(), *self.curves.values(), *self.rates.values(), self.l2_curve,
                     *self.rugs.values(), *self.spikes.values()):
            item.setData([], [])
        for plot in self._robust_y:
            self._robust_y[plot] = True
        self._series = None
        self._show_l2(False)
        self._empty_ranges()

    def _empty_ranges(self) -> None:
        """Plausible axes before the first row (steps 0-100, errors 0-1.5, rates 1e-5 to 1e-3);
        auto-range takes over as soon as there is data."""
        self.loss_plot.setRange(xRange=(0, 100), yRange=(0, 1.5), padding=0)
        self.gen_plot.setRange(yRange=(0, 3), padding=0)
        self.rate_plot.setRange(yRange=(-5, -3), padding=0)
        for view in (self.loss_plot.getViewBox(), self.gen_plot.getViewBox(), self.rate_plot.getViewBox(),
                     self.l2_view):
            view.enableAutoRange()

    def point_count(self, key: str) -> int:
        """Points held by a curve (not the downsampled count drawn): what tests and callers check."""
        item = {**self.curves, **self.rates, "l2_d": self.l2_curve}[key]
        x = item.getOriginalDataset()[0] if isinstance(item, pg.PlotDataItem) else item.getData()[0]
        return 0 if x is None else len(x)

    def refresh(self, series: MetricSeries) -> None:
        self._series = series
        x = series.steps()
        smoothing = series.smoothing > 0
        shown = {self.loss_plot: [], self.gen_plot: []}
        for key in LOSS_KEYS + VAE_KEYS:
            if key not in series.present:
                continue
            if key not in self.curves:
                self._add_loss_curve(key)
            raw = series.column(key)
            shown[self.plot_of(key)].append(raw)
            self.curves[key].setData(x, series.smoothed(key) if smoothing else raw)
            self.raw[key].setData(x, raw) if smoothing else self.raw[key].setData([], [])
            self.raw[key].setVisible(smoothing)
        for plot, columns in shown.items():
            self._robust_range(plot, columns, x)
        for key in RATE_KEYS:
            if key in series.present:
                self.rates[key].setData(x, series.log10(key))
        # D's L2 axis only when the adaptive rule moves it: a flat 0 would just add a useless axis.
        has_l2 = "l2_d" in series.nonzero
        self._show_l2(has_l2)
        self.l2_curve.setData(x, series.column("l2_d")) if has_l2 else self.l2_curve.setData([], [])
        self._draw_rugs()

    def _show_l2(self, shown: bool) -> None:
        if shown == self._l2_shown:
            return
        self._l2_shown = shown
        self.l2_curve.setVisible(shown)
        _blank_axis(self.rate_plot.getAxis("right"), not shown)
        if shown:
            self.rate_legend.addItem(self.l2_curve, "l2_d")
        else:
            self.rate_legend.removeItem(self.l2_curve)

    def _draw_rugs(self) -> None:
        series = self._series
        if series is None:
            return
        view = self.loss_plot.getViewBox()
        (x0, x1), width_px = view.viewRange()[0], max(1.0, view.width())
        if view.autoRangeEnabled()[0] and len(series):
            # The view catches up with new data only at the next paint; draw for where it will be.
            x0, x1 = float(series.steps()[0]), float(series.steps()[-1])
        for row, (key, item) in enumerate((("g_updated", self.rugs["g_updated"]),
                                           ("d_updated", self.rugs["d_updated"]))):
            steps = series.skipped_steps(key)
            if len(steps):
                lo, hi = np.searchsorted(steps, [x0, x1])
                steps = steps[max(0, lo - 1): hi + 1]
            if len(steps) > MAX_RUG_TICKS:
                # One tick per screen pixel is all the eye can see; keep one step per pixel column.
                column = np.floor((steps - x0) / max((x1 - x0) / width_px, 1e-12))
                steps = steps[np.r_[True, np.diff(column) > 0]]
            xs = np.repeat(steps, 2)
            ys = np.tile([row + 0.15, row + 0.85], len(steps))
            item.setData(xs, ys)

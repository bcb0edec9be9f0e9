"""The loss plots stay readable: robust ranges with clipped, marked spikes; gen on its own panel; a log
axis; curves that may coincide drawn so both stay visible."""

import numpy as np
import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def plots(qtbot):
    from latentlab.gui.widgets.plots import MetricsPlotWidget

    widget = MetricsPlotWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def series_with_spikes(n=2000, spikes=(500, 1500)):
    from latentlab.gui.state.series import MetricSeries

    rng = np.random.default_rng(0)
    real = 0.45 + 0.05 * rng.standard_normal(n)
    real[list(spikes)] = 15.0  # single-step spikes, as a fresh epoch or an odd batch gives
    series = MetricSeries(smoothing=0.0)
    series.extend_columns({"step": np.arange(1, n + 1, dtype=np.float64), "real": real,
                           "fake": 0.4 + 0.05 * rng.standard_normal(n), "gen": 1.1 + 0.1 * rng.standard_normal(n),
                           "lr_d": np.full(n, 2e-4), "lr_g": np.full(n, 2e-4)})
    return series


def test_spikes_do_not_flatten_the_errors_and_stay_marked(plots):
    plots.refresh(series_with_spikes())
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert low <= 0.0 and 0.69 < high < 1.5  # the bulk (0.3-0.6) fills the panel, ln 2 in view
    marks = plots.spikes[plots.loss_plot].getData()
    assert sorted(marks[0].tolist()) == [501.0, 1501.0]  # steps of the two clipped spikes
    assert np.allclose(marks[1], high)  # drawn at the top edge
    assert plots.point_count("real") == 2000  # the data themselves are all kept


def test_gen_has_its_own_panel(plots):
    plots.refresh(series_with_spikes())
    assert plots.curves["gen"] in plots.gen_plot.listDataItems()
    assert plots.curves["gen"] not in plots.loss_plot.listDataItems()
    low, high = plots.gen_plot.getViewBox().viewRange()[1]
    assert 1.2 < high < 2.5


def test_log_axis_and_fit_after_zoom(plots):
    series = series_with_spikes()
    plots.refresh(series)
    plots.set_log_y(True)
    low, high = plots.loss_plot.getViewBox().viewRange()[1]
    assert -1.0 < low < np.log10(0.3) and np.log10(0.6) < high < np.log10(2.0)  # log10 units
    plots.loss_plot.getViewBox().scaleBy(y=0.2)
    plots._user_zoomed(plots.loss_plot)  # what a wheel or drag reports
    zoomed = plots.loss_plot.getViewBox().viewRange()[1]
    plots.refresh(series)
    assert plots.loss_plot.getViewBox().viewRange()[1] == pytest.approx(zoomed)  # the user's zoom stays
    plots.set_log_y(False)
    plots.follow_data()
    assert plots.loss_plot.getViewBox().viewRange()[1][1] < 1.5


def test_coinciding_curves_differ_in_width_and_dash(plots):
    for a, b in (("lr_d", "lr_g"), ("real", "fake")):
        items = {**plots.rates, **plots.curves}
        pa, pb = items[a].opts["pen"], items[b].opts["pen"]
        assert pa.widthF() > pb.widthF() + 1.0  # the wider one shows around the narrower on top
        assert pa.style() == Qt.SolidLine and pb.style() != Qt.SolidLine
        assert items[b].zValue() >= items[a].zValue()


def test_the_learning_rate_legend_sits_outside_its_lines(qtbot):
    """The rates are flat lines across the plot: a legend inside it covered them."""
    from latentlab.gui.widgets.plots import MetricsPlotWidget

    plots = MetricsPlotWidget()
    qtbot.addWidget(plots)
    plots.resize(700, 560)
    plots.show()
    qtbot.waitExposed(plots)
    legend = plots.rate_legend.sceneBoundingRect()
    view = plots.rate_plot.getViewBox().sceneBoundingRect()
    assert legend.height() > 0 and not legend.intersects(view)
    assert {label.text for _, label in plots.rate_legend.items} >= {"lr_d", "lr_g"}

"""MetricSeries and its smoothing: plain numpy, no Qt."""

import math

import numpy as np

from latentlab.gui.state.series import MetricSeries, ema, rows_to_columns


def _naive_ema(x, alpha):
    out, s, w = [], 0.0, 0.0
    for v in x:
        if math.isfinite(v):
            s, w = alpha * s + (1 - alpha) * v, alpha * w + (1 - alpha)
            out.append(s / w)
        else:
            out.append(math.nan)
    return np.array(out)


def test_ema_matches_the_recurrence_and_is_incremental():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000)
    x[[3, 400, 401]] = np.nan
    for alpha in (0.0, 0.5, 0.9, 0.999):
        full, _ = ema(x, alpha)
        np.testing.assert_allclose(full, _naive_ema(x, alpha), rtol=1e-9, atol=1e-12)
        a, carry = ema(x[:317], alpha)
        b, _ = ema(x[317:], alpha, carry)
        np.testing.assert_allclose(np.r_[a, b], full, rtol=1e-9, atol=1e-12)
    # Debiased: the first smoothed value is the first value, not alpha-scaled towards 0.
    assert ema(np.array([2.0]), 0.99)[0][0] == 2.0


def test_series_grows_smooths_and_records_skips():
    series = MetricSeries(smoothing=0.5)
    rows = [{"step": s, "gen": float(s), "real": 0.5, "fake": 0.5, "d_updated": s % 2 == 0, "g_updated": True,
             "time": s * 0.5} for s in range(1, 3001)]
    series.extend(rows[:1000])
    series.extend(rows[1000:])
    assert len(series) == 3000 and series.last_step() == 3000
    np.testing.assert_allclose(series.smoothed("gen"), _naive_ema(np.arange(1, 3001.0), 0.5))
    assert list(series.skipped_steps("d_updated")[:3]) == [1, 3, 5]
    assert len(series.skipped_steps("g_updated")) == 0
    assert math.isclose(series.steps_per_second(), 2.0)
    assert "kl" not in series.present and np.isnan(series.last("kl"))
    series.set_smoothing(0.0)
    np.testing.assert_array_equal(series.smoothed("gen"), series.column("gen"))


def test_resumed_log_replaces_the_history_after_its_checkpoint():
    series = MetricSeries()
    series.extend([{"step": s, "gen": 1.0, "d_updated": s != 8} for s in range(1, 11)])
    # A resume from step 6 rewrites the log from step 7 on.
    series.extend([{"step": s, "gen": 2.0, "d_updated": True} for s in range(7, 13)])
    assert list(series.steps()) == list(range(1, 13))
    assert list(series.column("gen")) == [1.0] * 6 + [2.0] * 6
    assert len(series.skipped_steps("d_updated")) == 0


def test_damaged_rows_are_tolerated():
    cols = rows_to_columns([{"step": 1, "gen": "oops"}, {"no_step": 1}, "junk", {"step": 2, "gen": 0.7}])
    assert list(cols["step"]) == [1.0, 2.0]
    assert np.isnan(cols["gen"][0]) and cols["gen"][1] == 0.7

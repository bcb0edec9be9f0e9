import math

import pytest

from latentlab.train.rules import AdaptiveL2, EquilibriumRule, LRSchedule, MarginRule


@pytest.mark.parametrize(
    "real, fake, expected",
    [
        (0.5, 0.5, (True, True)),  # inside the band: both update
        (0.29, 0.5, (False, True)),  # D too good on real: skip D
        (0.5, 0.29, (False, True)),  # D too good on fake: skip D
        (0.3, 0.3, (True, True)),  # exactly at the margin is not below it
        (0.71, 0.5, (True, False)),  # D too bad on real: skip G
        (0.5, 0.71, (True, False)),
        (0.7, 0.7, (True, True)),  # exactly 1 - margin is not above it
        (0.2, 0.8, (True, True)),  # both would skip: update both
    ],
)
def test_margin_rule_thresholds(real, fake, expected):
    assert MarginRule(0.3).decide(real, fake) == expected


def test_margin_zero_disables_rule():
    rule = MarginRule(0.0)
    assert rule.decide(0.0, 5.0) == (True, True)
    assert rule.decide(3.0, 0.001) == (True, True)


@pytest.mark.parametrize(
    "real, fake, expected",
    [
        (0.68, 0.68, (True, True)),
        (0.32, 0.68, (False, True)),  # below 0.33: skip D
        (0.68, 0.32, (False, True)),
        (1.04, 0.68, (True, False)),  # above 1.03: skip the decoder
        (0.68, 1.04, (True, False)),
        (0.2, 1.2, (True, True)),
    ],
)
def test_equilibrium_rule_thresholds(real, fake, expected):
    assert EquilibriumRule(0.68, 0.35).decide(real, fake) == expected


def test_adaptive_l2_band_and_clamp():
    l2 = AdaptiveL2(enabled=True, coef=0.0, band_low=0.9, band_high=1.3, step=1e-5)
    assert l2.update(1.31) == pytest.approx(1e-5)
    assert l2.update(1.5) == pytest.approx(2e-5)
    assert l2.update(1.3) == pytest.approx(2e-5)  # on the edge: unchanged
    assert l2.update(0.9) == pytest.approx(2e-5)
    assert l2.update(1.0) == pytest.approx(2e-5)  # inside the band
    assert l2.update(0.89) == pytest.approx(1e-5)
    assert l2.update(0.5) == 0.0
    assert l2.update(0.5) == 0.0  # clamped at zero


def test_adaptive_l2_disabled_keeps_coefficient():
    l2 = AdaptiveL2(enabled=False, coef=0.0)
    assert l2.update(10.0) == 0.0


def test_adaptive_l2_state_roundtrip():
    a = AdaptiveL2(enabled=True, coef=3e-5, band_low=0.8, band_high=1.2, step=2e-5)
    b = AdaptiveL2()
    b.load_state_dict(a.state_dict())
    assert b == a


def test_warmup_schedule_2015():
    s = LRSchedule(1e-3, warmup=True)
    assert s.lr(0, 0) == pytest.approx(1e-3 / 50)
    assert s.lr(9, 0) == pytest.approx(1e-3 / 50)
    assert s.lr(10, 0) == pytest.approx(1e-3 / 5)
    assert s.lr(29, 0) == pytest.approx(1e-3 / 5)
    assert s.lr(30, 0) == pytest.approx(1e-3)


def test_epoch_decay_with_floor():
    s = LRSchedule(1e-3, decay=0.99, lr_min=1e-6)
    assert s.lr(100, 0) == pytest.approx(1e-3)
    assert s.lr(100, 3) == pytest.approx(1e-3 * 0.99**3)
    assert s.lr(100, 2000) == pytest.approx(1e-6)
    assert math.isclose(LRSchedule(1e-3).lr(10**6, 10**3), 1e-3)

"""The Qt-free models announce their changes: which aspects, once per batch (no Qt here)."""

import numpy as np

from latentlab.gui.state.events import ChangeModel
from latentlab.gui.state.explore_state import AMOUNTS, BASE, KEYFRAMES, LATENT, STRIP, ExploreState
from latentlab.gui.state.series import DATA, SMOOTHING, MetricSeries


def recording(model):
    seen = []
    model.changed.connect(seen.append)
    return seen


def test_each_change_names_what_to_show_again():
    state = ExploreState(4)
    seen = recording(state)
    state.set_dim(0, 1.5)
    state.set_psi(0.7)
    state.set_keyframe("A", np.ones(4), "ones")
    state.reset_dim(0)
    state.reset()
    assert seen == [{LATENT}, {LATENT, STRIP}, {KEYFRAMES, STRIP}, {BASE, LATENT}, {BASE, LATENT, AMOUNTS}]
    assert state.keyframe_label("A") == "ones" and state.keyframe_label("B") == "not set"


def test_a_batch_announces_once_after_its_last_change():
    state = ExploreState(4)
    state.set_attributes({"smile": np.ones(4, np.float32)})
    seen = recording(state)
    with state.batch():
        state.set_attribute_amount(0, 2.0)
        state.randomize(3)
        assert seen == []
    assert seen == [{LATENT, BASE}]
    state.set_attributes({})  # the old amounts were not zero: the latent changes
    state.set_principal(None)  # nothing was edited there: nothing to show
    assert seen[1:] == [{LATENT}]


def test_an_encoded_photo_is_announced_with_its_flag_set():
    state = ExploreState(4)
    flags = []
    state.changed.connect(lambda aspects: flags.append((aspects, state.editing_photo)))
    state.set_photo({"z": np.full(4, 0.5, np.float32), "name": "me.png"})
    assert flags == [({BASE, LATENT, AMOUNTS}, True)]
    assert state.source == "photo me.png"


def test_interpolation_mode_moves_the_point_between_keyframes():
    state = ExploreState(4)
    state.set_keyframe("A", np.array([1, 0, 0, 0]), "a")
    state.set_keyframe("B", np.array([0, 1, 0, 0]), "b")
    state.go_between(0.5)
    seen = recording(state)
    state.set_interp("lerp")
    assert seen == [{STRIP, BASE, LATENT}]
    np.testing.assert_allclose(state.base, [0.5, 0.5, 0, 0])


def test_listeners_may_disconnect_while_called():
    model = ChangeModel()
    calls = []

    def once(aspects):
        calls.append(aspects)
        model.changed.disconnect(once)

    model.changed.connect(once)
    model.notify("x")
    model.notify("y")
    assert calls == [{"x"}]


def test_series_announces_new_data_and_smoothing():
    series = MetricSeries(0.5)
    seen = recording(series)
    with series.batch():
        series.extend([{"step": 1, "gen": 1.0}])
        series.extend([{"step": 2, "gen": 2.0}])
    series.extend([])  # nothing new: nothing announced
    series.set_smoothing(0.5)  # unchanged
    series.set_smoothing(0.0)
    assert seen == [{DATA}, {SMOOTHING}]


def test_a_listener_is_not_kept_alive_by_the_model():
    class Listener:
        def __init__(self):
            self.seen = []

        def heard(self, aspects):
            self.seen.append(aspects)

    model, kept, dropped = ChangeModel(), Listener(), Listener()
    model.changed.connect(kept.heard)
    model.changed.connect(dropped.heard)
    del dropped
    model.notify("x")
    assert kept.seen == [{"x"}] and len(model.changed._refs) == 1

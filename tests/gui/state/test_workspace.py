"""The Workspace the tabs share: plain Python, no Qt, and every change announced once."""

from pathlib import Path

from latentlab.gui.state.workspace import RUN, STEP, TRAINING, TrainingState, Workspace


def test_training_states_answer_what_the_tabs_ask():
    S = TrainingState
    assert [s for s in S if s.holds_cores] == [S.STARTING, S.TRAINING, S.STOPPING]
    assert [s for s in S if s.live] == [S.STARTING, S.TRAINING, S.PAUSED]
    assert [s for s in S if s.in_session] == [S.STARTING, S.TRAINING, S.PAUSED, S.STOPPING]
    assert S("paused") is S.PAUSED and S.PAUSED == "paused"  # the value a Qt signal carries


def test_changes_are_announced_once_with_what_changed():
    ws = Workspace()
    seen = []
    ws.changed.connect(seen.append)
    ws.set_training("starting", "runs/a")
    assert seen == [frozenset({RUN, TRAINING})]
    assert ws.run_dir == Path("runs/a") and ws.training is TrainingState.STARTING
    assert ws.previous_training is TrainingState.IDLE
    ws.set_step(3)
    ws.set_training(TrainingState.STARTING, "runs/a")  # nothing changed: nothing announced
    ws.set_training(TrainingState.TRAINING, "runs/a")
    assert seen[1:] == [frozenset({STEP}), frozenset({TRAINING})]
    assert ws.step == 3 and ws.previous_training is TrainingState.STARTING
    ws.set_training(TrainingState.STARTING, "runs/b")  # a new run starts counting again
    assert ws.step is None and seen[-1] == frozenset({RUN, TRAINING})


def test_a_request_for_weights_reaches_whoever_answers_it():
    ws = Workspace()
    asked, offered = [], []
    ws.weights_requested.connect(lambda: asked.append(True))  # the Train tab's part
    ws.weights_offered.connect(offered.append)  # the Explore tab's part
    ws.request_weights()
    assert asked == [True] and offered == []
    offer = {"step": 7, "model": None, "data": None, "states": {"G": {}}}
    ws.offer_weights(offer)
    assert offered == [offer]


def test_the_face_and_photo_on_screen_are_shared():
    ws = Workspace()
    ws.explore.reset_model(4)
    assert ws.photo is None
    photo = {"photo": None, "z": [0.0, 1.0, 0.0, 0.0], "reconstruction": None, "name": "me.png"}
    ws.explore.set_photo(photo)
    assert ws.photo is photo and ws.explore.source == "photo me.png"

"""Control.request_weights: the engine answers with CPU copies of its sampling generator's state,
between two steps, also while paused; the copy is the driver's and is never logged."""

import json

import pytest
import torch

from latentlab.run.control import WEIGHTS, Control, Event, StepStats
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config


def _until_step(items, step):
    for item in items:
        if isinstance(item, StepStats) and item.step == step:
            return
    raise AssertionError(f"the run ended before step {step}")


@pytest.mark.parametrize("arch", ["dcgan", "vaegan"])
def test_weights_are_answered_between_steps_even_while_paused(tmp_path, one_thread, arch):
    control = Control()
    cfg = tiny_config(arch, steps=6, cache_dir=tmp_path, sample_every=100, checkpoint_every=100)
    trainer = Trainer(cfg, tmp_path / "run", control=control)
    items = trainer.run()
    _until_step(items, 2)
    control.pause()
    control.request_weights()
    event = next(items)  # a paused engine idles, but answers the request before it does
    assert isinstance(event, Event) and event.kind == WEIGHTS and event.step == 2
    offer = event.data
    assert offer["step"] == 2 and offer["model"] == cfg.model and offer["data"] == cfg.data
    assert set(offer["states"]) == ({"G", "E"} if arch == "vaegan" else {"G"})
    live = trainer.generator_for_sampling().state_dict()
    assert offer["states"]["G"].keys() == live.keys()
    for key, value in offer["states"]["G"].items():
        assert value.device.type == "cpu" and torch.equal(value, live[key])
        assert value.data_ptr() != live[key].data_ptr()  # a copy, not the trainer's own tensor
    if arch == "vaegan":
        encoder = trainer.nets["E"].state_dict()
        assert all(torch.equal(v, encoder[k]) for k, v in offer["states"]["E"].items())

    frozen = {k: v.clone() for k, v in offer["states"]["G"].items()}
    control.step_once()
    _until_step(items, 3)
    moved = trainer.generator_for_sampling().state_dict()
    assert any(not torch.equal(moved[k], frozen[k]) for k in frozen)  # training went on...
    assert all(torch.equal(offer["states"]["G"][k], frozen[k]) for k in frozen)  # ...the copy stayed
    control.stop()
    rest = list(items)
    assert not [i for i in rest if isinstance(i, Event) and i.kind == WEIGHTS]  # one request, one answer
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert WEIGHTS not in kinds  # an answer to the driver, not part of the run's history

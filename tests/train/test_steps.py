"""A step takes its inputs explicitly (a `StepParts`) and never sees the loop: built without any
Trainer, the parts give the very step the Trainer runs."""

import pytest
import torch

from latentlab.run.control import StepStats
from latentlab.train.distributed import DistContext
from latentlab.train.engine import Trainer
from latentlab.train.steps import gan_step, vaegan_step
from latentlab.train.trainstate import build_state
from tests.train.helpers import tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("arch", ["dcgan", "torchgan2015", "vaegan"])
def test_the_first_step_from_its_parts_alone_is_the_trainers(tmp_path, arch):
    cfg = tiny_config(arch, steps=1, cache_dir=tmp_path, health=False, warmup=False, ema=0.0)
    trainer = Trainer(cfg, None)
    (want,) = [item for item in trainer.run() if isinstance(item, StepStats)]

    state = build_state(trainer.cfg, DistContext.single(), torch.device("cpu"))
    step = vaegan_step if arch == "vaegan" else gan_step
    got = step(state.parts, trainer.feeder.get(0))
    assert (got.real, got.fake, got.gen, got.d_updated, got.g_updated, got.kl, got.llike) == \
           (want.real, want.fake, want.gen, want.d_updated, want.g_updated, want.kl, want.llike)
    for name, net in trainer.nets.items():
        for (key, a), b in zip(net.state_dict().items(), state.parts.nets[name].state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key} differs"

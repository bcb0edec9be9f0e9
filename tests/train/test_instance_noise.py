"""Instance noise (Sønderby et al. 2016): every image D sees, real and fake, carries Gaussian noise of
a σ annealed linearly over the run; off by default, so the papers' loops stay exact."""

import pytest
import torch

from latentlab.run.control import StepStats
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.timeout(120)]


class Spy(torch.nn.Module):
    """D, recording the images each of its calls saw."""

    def __init__(self, d):
        super().__init__()
        self.d = d
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().float().clone())
        return self.d(x)


def first_step_inputs(tmp_path, arch, **train):
    """The images D saw in the first step: [real, fake, G's fake]."""
    trainer = Trainer(tiny_config(arch, steps=1, cache_dir=tmp_path, **train), None)
    trainer.setup()
    spy = trainer.nets["D"] = Spy(trainer.nets["D"])
    assert sum(isinstance(item, StepStats) for item in trainer.run()) == 1
    return spy.seen


@pytest.mark.parametrize("arch", ["dcgan", "torchgan2015"])
def test_every_image_d_sees_carries_noise_of_the_set_sigma(tmp_path, arch):
    clean = first_step_inputs(tmp_path, arch)
    noisy = first_step_inputs(tmp_path, arch, instance_noise=0.25, instance_noise_end=0.25)
    assert len(clean) == len(noisy) == 3
    # Same seed: the real batch and this step's z are drawn before the noise, so the images differ by
    # the noise alone. The 2015 loop draws a fresh z for G's half after the noise: skip its third call.
    for i, (a, b) in enumerate(zip(clean, noisy)):
        if arch == "torchgan2015" and i == 2:
            continue
        diff = b - a
        assert diff.std().item() == pytest.approx(0.25, rel=0.1), i
        assert abs(diff.mean().item()) < 0.05
    # The noise differs from image to image and between the real and fake batches.
    assert not torch.allclose(noisy[0] - clean[0], noisy[1] - clean[1])


def test_without_instance_noise_d_sees_the_images_themselves(tmp_path):
    seen = first_step_inputs(tmp_path, "dcgan")
    assert seen[0].min() >= -1 and seen[0].max() <= 1  # the data's range, untouched
    assert torch.equal(seen[1], seen[2])  # the DCGAN loop scores this step's fakes twice, unchanged


def test_sigma_anneals_linearly_from_start_to_end(tmp_path):
    trainer = Trainer(tiny_config("dcgan", steps=11, cache_dir=tmp_path, instance_noise=0.3,
                                  instance_noise_end=0.1), None)
    trainer.setup()
    sigmas = []
    for step in (0, 5, 10):
        trainer.step = step
        sigmas.append(trainer.instance_noise())
    assert sigmas == pytest.approx([0.3, 0.2, 0.1])
    trainer.cfg.train.instance_noise = trainer.cfg.train.instance_noise_end = 0.0
    assert trainer.instance_noise() == 0.0

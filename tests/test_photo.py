"""Projection (GAN inversion) on tiny nets with fixed weights, and the photo helpers. No Qt."""

import numpy as np
import pytest
import torch

from latentlab.config import Config, UserError
from latentlab.inference.photo import ProjectionCancelled, model_convention, outlined, parse_box, project, rows_image
from latentlab.models.dcgan import DCGANGenerator
from latentlab.models.torchgan2015 import Torch2015Generator
from latentlab.models.vaegan import VAEGANDecoder, VAEGANEncoder
from tests.nets import vivid

NZ = 8


def tiny_dcgan(seed=0):
    torch.manual_seed(seed)
    return vivid(DCGANGenerator(NZ, 32, 8), seed=seed).eval()


def samples(G, n, seed):
    z = torch.randn(n, NZ, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = G(z).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return z, x


def test_projection_recovers_samples_of_the_generator():
    G = tiny_dcgan()
    _, targets = samples(G, 2, seed=11)
    _, others = samples(G, 16, seed=12)
    for target in targets:
        result = project(G, target, steps=40, restarts=4, seed=0)
        # Threshold: a fifth of the mean distance from the target to unrelated samples of the same G,
        # i.e. far closer than any face the generator could have given by chance.
        unrelated = np.abs(others.astype(float) - target.astype(float)).mean(axis=(1, 2, 3)).mean()
        assert result.error < 0.2 * unrelated, (result.error, unrelated)
        assert result.image.shape == (32, 32, 3) and result.z.shape == (NZ,)
        with torch.no_grad():  # the latent returned renders the image returned
            again = samples_of(G, result.z)
        np.testing.assert_array_equal(again, result.image)


def samples_of(G, z):
    with torch.no_grad():
        x = G(torch.from_numpy(z)[None]).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1)[0].numpy()


def test_projection_error_falls_with_steps():
    G = tiny_dcgan(1)
    _, targets = samples(G, 1, seed=3)
    errors = [project(G, targets[0], steps=s, restarts=2, seed=0).error for s in (0, 10, 60)]
    assert errors[0] > errors[1] > errors[2], errors
    seen = []
    project(G, targets[0], steps=20, restarts=2, seed=0, progress=seen.append, report_every=5)
    assert [s.step for s in seen] == [5, 10, 15, 20] and all(s.steps == 20 for s in seen)
    assert seen[0].image.shape == (32, 32, 3) and seen[-1].z.shape == (NZ,)


def test_projection_runs_for_every_architecture():
    torch.manual_seed(0)
    g2015 = vivid(Torch2015Generator(NZ, width=4), seed=0).eval()
    _, target = samples(g2015, 1, seed=5)
    result = project(g2015, target[0], steps=15, restarts=2)
    assert result.start == "random" and result.error < result.start_error + 1e-6
    dec = vivid(VAEGANDecoder(NZ, 32, 4), seed=1).eval()
    enc = vivid(VAEGANEncoder(NZ, 32, 4), seed=2).eval()
    _, target = samples(dec, 1, seed=6)
    result = project(dec, target[0], E=enc, steps=15, restarts=2)
    assert result.start == "encoder"
    assert result.error <= result.start_error + 0.5  # refinement from μ never makes it worse


def test_a_stop_request_raises_and_the_callback_sees_no_more_steps():
    G = tiny_dcgan()
    _, target = samples(G, 1, seed=2)
    seen = []

    def stop():
        return len(seen) >= 2

    with pytest.raises(ProjectionCancelled):
        project(G, target[0], steps=50, restarts=2, progress=seen.append, should_stop=stop, report_every=1)
    assert len(seen) == 2


def test_a_target_of_the_wrong_size_is_refused():
    with pytest.raises(UserError, match=r"uint8 \(32, 32, 3\)"):
        project(tiny_dcgan(), np.zeros((64, 64, 3), np.uint8), steps=1)


def test_model_convention_follows_the_training_data():
    class R:
        config = Config()

    R.config.data.source = "synthetic"
    assert model_convention(R).name == "synthetic"
    R.config.data.source = "lfw:/data/lfw"
    assert (model_convention(R).name, model_convention(R).crop) == ("lfw", "lfw150")
    R.config.data.source = "celeba:/data/celeba"
    R.config.model.arch = "vaegan"
    assert (model_convention(R).name, model_convention(R).crop) == ("celeba", "celeba148")
    R.config.name = "imported-netG"
    R.config.data.source = "synthetic"
    assert model_convention(R).name == "celeba"


def test_outlined_letterboxes_and_draws_the_box():
    photo = np.zeros((50, 100, 3), np.uint8)
    cell = outlined(photo, (25, 10, 50, 30), 64)
    assert cell.shape == (64, 64, 3)
    assert (cell[0, 32] == 128).all() and (cell[32, 2] == 0).all()  # grey bar above, photo below it
    assert tuple(cell[22, 30]) == (255, 60, 60)  # the top edge: y = 16 + 10 × 0.64, x from 25 × 0.64


def test_rows_image_tiles_rows_of_cells():
    rows = [[np.zeros((32, 32, 3), np.uint8), np.full((16, 16, 3), 255, np.uint8)]] * 2
    out = rows_image(rows, 32)
    assert out.shape == (2 * 34 - 2, 2 * 34 - 2, 3)
    assert (out[32:34] == 255).all() and (out[:32, 34:] == 255).all()  # white gaps; the cells as given


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,0,-4,5"])
def test_parse_box_refuses_malformed_boxes(text):
    with pytest.raises(UserError, match="--box must be X,Y,W,H"):
        parse_box(text)
    assert parse_box("1,2,30,40") == (1.0, 2.0, 30.0, 40.0)

"""Named directions on a model whose answer is known: a small linear G whose mean brightness is a
linear function of z, so the true 'bright' direction is the gradient of that function."""

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.config import UserError
from latentlab.inference.api import Model
from latentlab.latent.attributes import AttributeSet, read_attributes, store_attributes
from latentlab.latent.classify import conditional, correlations, fit_direction, heldout_accuracy

NZ, S = 16, 16


class BrightG(torch.nn.Module):
    """x = W z + b: every pixel linear in z, with a common term along `true` that sets the brightness."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.latent_dim, self.image_size = NZ, S
        g = torch.Generator().manual_seed(seed)
        true = torch.randn(NZ, generator=g)
        self.true = (true / true.norm()).numpy()
        w = 0.08 * torch.randn(3 * S * S, NZ, generator=g) + 0.2 * torch.from_numpy(self.true)[None]
        self.lin = torch.nn.Linear(NZ, 3 * S * S)
        with torch.no_grad():
            self.lin.weight.copy_(w)
            self.lin.bias.zero_()

    def forward(self, z):
        return self.lin(z).view(-1, 3, S, S)

    def brightness_direction(self) -> np.ndarray:
        g = self.lin.weight.detach().mean(0).numpy()  # d mean(x) / dz
        return g / np.linalg.norm(g)


@pytest.fixture(scope="module")
def bright():
    G = BrightG()
    return G, Model.from_modules(G)


def _labelled(model, n_each=40, seed=1):
    """Samples labelled by a rule on their pictures: bright (with) or dark (without), n_each each,
    drawn as a person would pick them from grids of samples."""
    faces = model.sample(400, seed=seed)
    level = faces.images.reshape(len(faces), -1).mean(1)
    order = np.argsort(level)
    with_, without = order[-n_each:], order[:n_each]
    return faces, with_, without


def test_taught_direction_from_40_and_40_rule_labels_points_along_the_true_one(bright):
    G, model = bright
    faces, with_, without = _labelled(model)
    z = np.concatenate([faces.z[with_], faces.z[without]])
    labels = np.r_[np.ones(40, bool), np.zeros(40, bool)]
    fit = model.teach(z, labels)
    cosine = float(fit.unit @ G.brightness_direction())
    print(f"cosine with the true direction from 40 + 40 labels: {cosine:.3f}")
    assert cosine >= 0.9, cosine
    assert fit.accuracy >= 0.9 and fit.counts == (40, 40)
    # Scaled to the labelled latents' spread along it: ±1 on a slider is one standard deviation.
    assert np.linalg.norm(fit.vector) == pytest.approx((z @ fit.unit).std(), rel=1e-4)
    # Random labels on the same latents separate no better than chance on held-out folds.
    shuffled = np.random.default_rng(0).permutation(labels)
    assert heldout_accuracy(z, shuffled) < 0.75


def test_direction_from_folders_through_projection(bright, tmp_path):
    G, model = bright
    faces, with_, without = _labelled(model, seed=2)
    for name, idx in (("with", with_), ("without", without)):
        (tmp_path / name).mkdir()
        for i in idx:
            Image.fromarray(faces.images[i]).save(tmp_path / name / f"{i}.png")
    seen = []
    fit = model.direction_from_folders("bright", str(tmp_path / "with"), str(tmp_path / "without"), steps=40,
                                       restarts=2,
                                       progress=lambda flag, done, total: seen.append((flag, done, total)))
    cosine = float(fit.unit @ G.brightness_direction())
    print(f"cosine with the true direction through projection: {cosine:.3f}")
    assert cosine >= 0.8, cosine
    assert fit.counts == (40, 40)
    assert seen[-1] == ("--without", 40, 40)


def test_projection_is_cached_per_model_and_photo(bright):
    model = bright[1]
    photos = model.sample(3, seed=5).images
    first = model.project_aligned(photos, steps=10, restarts=2)
    calls = []
    again = model.project_aligned(photos, steps=10, restarts=2, should_stop=lambda: calls.append(1) or False)
    np.testing.assert_array_equal(first.z, again.z)
    assert not calls  # nothing was optimised: every photo came from the cache
    other = model.project_aligned(photos, steps=11, restarts=2)  # other settings: projected afresh
    assert other.z.shape == first.z.shape


def test_edit_walk_and_conditional_editing(bright, tmp_path):
    model = bright[1]
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"")  # only its name matters for the file beside it
    model = Model(model.renderer, checkpoint=ckpt)
    faces, with_, without = _labelled(model)
    z = np.concatenate([faces.z[with_], faces.z[without]])
    fit = model.teach(z, np.r_[np.ones(40, bool), np.zeros(40, bool)])
    model.save_direction("bright", fit, source="test")
    other = AttributeSet()
    other.add("first", np.eye(NZ, dtype=np.float32)[0], counts=(1, 1), source="axis", kind="taught")
    store_attributes(ckpt, other)
    stored = read_attributes(ckpt)
    assert sorted(stored) == ["bright", "first"] and stored.kind("bright") == "taught"
    assert stored.accuracies["bright"] == pytest.approx(fit.accuracy)
    assert set(model.directions) == {"bright", "first"}

    start = model.latents(1, seed=3)[0]
    up, down = model.render(model.edit(start, bright=2)), model.render(model.edit(start, bright=-2))
    assert up.images.mean() > down.images.mean() + 10
    kept = model.edit(start, keep=["first"], bright=2)
    assert kept[0] == pytest.approx(start[0], abs=1e-5)  # the kept coordinate did not move
    assert np.linalg.norm(kept - start) == pytest.approx(np.linalg.norm(2 * model.direction("bright")), rel=1e-4)
    walk = model.walk("bright", start, frames=5)
    levels = walk.images.reshape(5, -1).mean(1)
    assert np.all(np.diff(levels) > 0)
    with pytest.raises(UserError, match=r"unknown direction 'smile'; this model has: bright, first"):
        model.edit(start, smile=1)


def test_classifier_refusals_and_helpers():
    with pytest.raises(UserError, match="with and without"):
        fit_direction(np.zeros((4, 3)), np.ones(4, bool))
    assert np.isnan(heldout_accuracy(np.random.default_rng(0).normal(size=(3, 2)), [True, False, False]))
    v = np.array([1.0, 1.0, 0.0])
    out = conditional(v, [np.array([1.0, 0.0, 0.0])])
    assert out[0] == pytest.approx(0) and np.linalg.norm(out) == pytest.approx(np.linalg.norm(v))
    with pytest.raises(UserError, match="span"):
        conditional(np.array([2.0, 0, 0]), [np.array([1.0, 0, 0])])
    best = correlations(np.eye(3)[:2], {"a": np.array([0.0, 2.0, 0.0]), "b": np.array([-1.0, 0.1, 0.0])})
    assert best[0][0] == "b" and best[0][1] < -0.9 and best[1] == ("a", pytest.approx(1.0))
    assert correlations(np.eye(3), {}) == [None, None, None]

"""The Python API (latentlab.load) on the bundled demo VAE/GAN: the README's example runs as written,
photos go in as paths, PIL images or arrays, and what comes out matches the CLI's conventions."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import latentlab
from latentlab.config import UserError
from latentlab.resources import demo_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Named directions", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    monkeypatch.chdir(ROOT)
    namespace = {}
    code = code.replace('"glasses.png"', repr(str(tmp_path / "glasses.png")))
    exec(compile(code, "README", "exec"), namespace)  # noqa: S102 - the README's own example, as a user runs it
    assert Image.open(tmp_path / "glasses.png").size == (32, 32)
    assert len(namespace["walk"]) == 7 and namespace["faces"].images.shape == (16, 32, 32, 3)


@pytest.fixture(scope="module")
def demo():
    return latentlab.load(demo_checkpoint())


def test_sample_matches_the_sample_command_and_render(demo):
    import torch

    faces = demo.sample(4, seed=3)
    z = torch.randn(4, demo.latent_dim, generator=torch.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(faces.z, z)
    np.testing.assert_array_equal(faces.images, demo.render(z).images)
    assert [im.size for im in faces.pil()] == [(32, 32)] * 4
    assert demo.render(z, truncation=0.5).z == pytest.approx(z * 0.5)


def test_directions_and_edit(demo):
    assert {"glasses", "smiling"} <= set(demo.directions)
    d = demo.directions["glasses"]
    assert d.kind == "encoder" and d.accuracy is None and d.vector.shape == (demo.latent_dim,)
    z = demo.latents(2, seed=1)
    np.testing.assert_allclose(demo.edit(z, glasses=1.5), z + 1.5 * d.vector, atol=1e-6)
    kept = demo.edit(z, glasses=1, keep=["smiling"])
    smile = demo.direction("smiling")
    assert np.allclose((kept - z) @ smile, 0, atol=1e-4)
    assert demo.edit_by(z, {"glasses": 0}).tolist() == z.tolist()
    with pytest.raises(UserError, match="unknown direction 'hat'; this model has: "):
        demo.edit(z, hat=1)


def test_encode_and_project_take_paths_pil_and_arrays(demo, tmp_path):
    from latentlab.data.synthetic import render_face

    face = render_face(123, 96)[0]
    Image.fromarray(face).save(tmp_path / "face.png")
    by_path = demo.encode(str(tmp_path / "face.png"))
    by_pil = demo.encode(Image.fromarray(face))
    by_array = demo.encode(face)
    np.testing.assert_allclose(by_path.z, by_pil.z, atol=1e-5)
    np.testing.assert_allclose(by_path.z, by_array.z, atol=1e-5)
    assert by_path.images.shape == (1, 32, 32, 3) and by_path.inputs.shape == (1, 32, 32, 3)
    aligned = by_path.inputs  # already the model's size: projected as given
    found = demo.project(aligned, steps=5, restarts=2)
    assert found.z.shape == (1, demo.latent_dim) and found.errors[0] < 60
    with pytest.raises(UserError, match="a photo must be"):
        demo.encode(np.zeros((5, 5), np.float32))


def test_a_gan_has_no_encode(tmp_path):
    from latentlab.inference.api import Model
    from tests.latent.test_named_directions import BrightG

    model = Model.from_modules(BrightG())
    with pytest.raises(UserError, match="has no encoder"):
        model.encode(np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(UserError, match="nowhere to store"):
        model.save_direction("x", model.teach(model.latents(4), [True, True, False, False]))

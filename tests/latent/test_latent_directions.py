import numpy as np
import pytest
import torch

from latentlab.config import UserError
from latentlab.latent import (
    attribute_vectors,
    load_attributes,
    load_principal,
    principal_directions,
    save_attributes,
    save_principal,
)


def test_principal_directions_unit_nearly_orthogonal_reproducible(tiny_g):
    calls = []
    d, s, e = principal_directions(tiny_g, n_samples=400, n_components=20, seed=3, batch=100,
                                   progress=lambda done, total: calls.append((done, total)))
    assert d.shape == (8, 8) and s.shape == (8,) and e.shape == (8,)  # capped at latent_dim
    assert (e > 0).all() and (np.diff(e) <= 1e-6).all() and e.sum() <= 1 + 1e-5
    assert d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1, atol=1e-5)
    gram = d @ d.T
    assert np.abs(gram - np.eye(8)).max() < 0.3
    assert (s > 0).all() and (np.diff(s) <= 1e-6).all()
    assert calls[-1] == (400, 400) and len(calls) == 4
    d2, s2, _ = principal_directions(tiny_g, n_samples=400, n_components=20, seed=3, batch=100)
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(s, s2)


def test_dominant_latent_axis_is_found_first(tiny_g):
    # Make z[3] drive the first block five times harder than any other coordinate: the first
    # principal direction, carried back to z, must then be (±) the unit vector e_3.
    with torch.no_grad():
        tiny_g.main[0].weight[3] *= 5
    d, s, e = principal_directions(tiny_g, n_samples=400, n_components=4, seed=0)
    assert d.shape == (4, 8)
    assert e[0] > 0.3  # the dominant axis carries a large share of the layer's variance
    assert abs(d[0, 3]) > 0.95
    assert s[0] > 1.5 * s[1]
    assert np.abs(d[1:, 3]).max() < 0.3


def test_training_mode_generator_is_left_untouched(tiny_g):
    tiny_g.train()
    before = {k: v.clone() for k, v in tiny_g.state_dict().items()}
    principal_directions(tiny_g, n_samples=50, n_components=2, seed=0)
    assert tiny_g.training
    for k, v in tiny_g.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_cancel_returns_none(tiny_g):
    assert principal_directions(tiny_g, n_samples=100, batch=10, cancel=lambda: True) is None


def test_principal_file_round_trip(tmp_path, tiny_g):
    d, s, e = principal_directions(tiny_g, n_samples=100, n_components=3, seed=0)
    path = tmp_path / "pc.safetensors"
    save_principal(path, d, s, e, meta={"checkpoint": "x.safetensors", "step": 5})
    d2, s2, e2, meta = load_principal(path)
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(s, s2)
    np.testing.assert_array_equal(e, e2)
    assert meta == {"checkpoint": "x.safetensors", "step": 5}
    with pytest.raises(UserError, match="holds principal vectors, expected attributes"):
        load_attributes(path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(UserError, match="junk.safetensors"):
        load_principal(junk)


def _faces(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def test_attribute_vectors_difference_of_means(tiny_vaegan, tmp_path):
    encoder = tiny_vaegan["E"].eval()
    images = _faces()
    smiling = np.arange(12) % 3 == 0
    labels = {"smiling": smiling, "hat": np.zeros(12, bool), "all": np.ones(12, bool)}
    vecs = attribute_vectors(encoder, images, labels, batch=5)
    assert set(vecs) == {"smiling"}
    assert any("hat" in note and "no positive" in note for note in vecs.notes)
    assert any("all" in note and "no negative" in note for note in vecs.notes)
    assert vecs.counts["smiling"] == (4, 8)
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
        mu = encoder(x)[0].double().numpy()
    diff = mu[smiling].mean(0) - mu[~smiling].mean(0)
    unit = diff / np.linalg.norm(diff)
    spread = (mu @ unit).std()
    np.testing.assert_allclose(vecs["smiling"], unit * spread, atol=1e-5)
    assert vecs.separations["smiling"] == pytest.approx(np.linalg.norm(diff) / spread, rel=1e-4)
    path = tmp_path / "attr.safetensors"
    save_attributes(path, vecs, meta={"source": "synthetic"})
    loaded, meta = load_attributes(path)
    np.testing.assert_array_equal(loaded["smiling"], vecs["smiling"])
    assert meta["source"] == "synthetic"


def test_attribute_vectors_errors_when_asked_explicitly(tiny_vaegan):
    encoder = tiny_vaegan["E"].eval()
    labels = {"smiling": np.arange(12) % 2 == 0, "hat": np.zeros(12, bool)}
    with pytest.raises(UserError, match="'hat' has no positive"):
        attribute_vectors(encoder, _faces(), labels, names=["smiling", "hat"])
    with pytest.raises(UserError, match="unknown attribute 'beard'"):
        attribute_vectors(encoder, _faces(), labels, names=["beard"])
    with pytest.raises(UserError, match="uint8"):
        attribute_vectors(encoder, _faces().astype(np.float32), labels)


def test_attribute_vectors_subsample_deterministically(tiny_vaegan):
    encoder = tiny_vaegan["E"].eval()
    labels = {"a": np.arange(12) % 2 == 0}
    v1 = attribute_vectors(encoder, _faces(), labels, max_images=6)
    v2 = attribute_vectors(encoder, _faces(), labels, max_images=6)
    assert sum(v1.counts["a"]) == 6
    np.testing.assert_array_equal(v1["a"], v2["a"])


def test_attribute_vectors_are_scaled_to_the_latent_spread(tiny_vaegan):
    """A label the encoder carries strongly and one it barely carries: their raw differences of means
    differ many times over, the scaled vectors by less than 3x, so every slider moves as visibly."""
    from latentlab.data import open_source

    faces = open_source("synthetic", 32, crop="center", synthetic_count=300, holdout=0, progress=lambda *_: None)
    encoder = tiny_vaegan["E"].eval()
    with torch.no_grad():
        x = torch.from_numpy(np.array(faces.images)).permute(0, 3, 1, 2).float() / 127.5 - 1
        mu = encoder(x)[0].double().numpy()
    strong = mu[:, 0] > np.median(mu[:, 0])  # a label that is exactly a direction of the latent code
    weak = np.arange(len(mu)) % 2 == 0  # a label the code knows nothing about
    labels = {"strong": strong, "weak": weak, **{k: v for k, v in faces.labels.items()}}
    vecs = attribute_vectors(encoder, faces.images, labels)
    raw = {n: np.linalg.norm(mu[labels[n]].mean(0) - mu[~labels[n]].mean(0)) for n in vecs}
    assert raw["strong"] > 5 * raw["weak"]
    norms = {n: float(np.linalg.norm(v)) for n, v in vecs.items()}
    assert max(norms.values()) < 3 * min(norms.values()), norms
    assert vecs.separations["strong"] > 3 * vecs.separations["weak"]
    for name, v in vecs.items():  # ±1 on a slider is one standard deviation of the codes along it
        proj = mu @ (v / np.linalg.norm(v))
        assert np.linalg.norm(v) == pytest.approx(proj.std(), rel=1e-3)


def test_shipped_demo_attribute_vectors_are_comparable():
    """The demo the window opens first: every attribute slider must move about as far as the others."""
    from latentlab.inference.encode import read_attributes
    from latentlab.resources import demo_checkpoint

    attrs = read_attributes(demo_checkpoint())
    assert attrs is not None and len(attrs.vectors) >= 3
    norms = {n: float(np.linalg.norm(v)) for n, v in attrs.vectors.items()}
    assert max(norms.values()) < 3 * min(norms.values()), norms

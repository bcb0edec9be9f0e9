"""Quality metrics (no Qt): the fixed feature space, precision/recall, Fréchet distances, FID/KID via
torchmetrics, the memorization check, quality events during training, `latentlab metrics`."""

import json

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.config import UserError
from latentlab.data import open_source
from latentlab.metrics import features as F
from latentlab.metrics import quality as Q
from latentlab.metrics.history import QualityHistory
from latentlab.metrics.memorization import COPY_DISTANCE, nearest_training_images
from latentlab.run.control import Event
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores: a second torch thread mostly waits
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def faces():
    return open_source("synthetic", 32, crop="center", synthetic_count=200, holdout=16, progress=lambda *_: None)


def blobs(n, centre, spread=1.0, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return centre + spread * torch.randn(n, dim, generator=g)


# -- the feature space ---------------------------------------------------------------------------------
def test_feature_space_is_fixed_forever():
    """Stored numbers stay comparable only while these weights do (NumPy PCG64 is stable across versions)."""
    convs, proj = F._weights()
    assert [round(v, 6) for v in convs[0].flatten()[:3].tolist()] == [-0.042104, -0.077406, -0.047156]
    assert round(proj[0, 0].item(), 6) == -0.024239
    assert [tuple(w.shape) for w in convs] == [(16, 3, 3, 3), (32, 16, 3, 3), (64, 32, 3, 3)]


def test_embedding_accepts_uint8_and_float_and_any_size(faces):
    u8 = faces.images[:5]
    as_float = torch.from_numpy(np.array(u8)).permute(0, 3, 1, 2).float() / 127.5 - 1
    a, b = F.embed(u8), F.embed(as_float)
    assert a.shape == (5, F.FEATURE_DIM) and torch.allclose(a, b, atol=1e-5)
    big = torch.nn.functional.interpolate(as_float, scale_factor=2, mode="nearest")  # 64 px: pooled back
    assert torch.allclose(F.embed(big), a, atol=1e-4)
    assert F.embed(torch.zeros(2, 3, 16, 16)).shape == (2, F.FEATURE_DIM)


def test_diversity_of_real_images_and_of_copies(faces):
    feats = F.embed(faces.images[:128])
    ref = F.mean_pairwise_distance(feats[:64])
    assert 0.85 < F.mean_pairwise_distance(feats[64:]) / ref < 1.15
    same = F.embed(faces.images[[4] * 16])
    assert F.mean_pairwise_distance(same) < 1e-6 * ref
    assert F.close_pair_fraction(same, 0.1 * ref) == 1.0 and F.close_pair_fraction(feats, 0.1 * ref) == 0.0


# -- precision / recall and Fréchet distances ----------------------------------------------------------
def test_precision_recall_separate_fidelity_from_coverage():
    real = torch.cat([blobs(200, 0.0, dim=2, seed=1), blobs(200, 20.0, dim=2, seed=2)])
    assert Q.precision_recall(real, real) == (1.0, 1.0)
    one_mode = blobs(200, 0.0, dim=2, seed=3)  # faithful, covers half the data
    p, r = Q.precision_recall(real, one_mode)
    assert p > 0.9 and 0.4 < r <= 0.5
    far = blobs(100, 100.0, dim=2, seed=4)
    assert Q.precision_recall(real, far) == (0.0, 0.0)
    with pytest.raises(UserError):
        Q.precision_recall(real[:3], far)


def test_frechet_distance_matches_the_closed_form():
    a = blobs(4000, 0.0, spread=1.0, dim=8, seed=5)
    assert Q.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = torch.tensor([3.0, 0, 0, 0, 0, 0, 0, 4.0])
    b = blobs(4000, 0.0, spread=2.0, dim=8, seed=6) + shift
    # diagonal covariances: |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2 = 25 + 8 * (2 - 1)^2 = 33
    assert Q.frechet_distance(a, b) == pytest.approx(33.0, rel=0.05)


def test_fid_and_kid_by_torchmetrics_from_features():
    pytest.importorskip("torchmetrics")
    a = blobs(300, 0.0, dim=64, seed=7).double()
    assert Q.fid_kid(a, a)["fid"] == pytest.approx(0.0, abs=1e-6)
    same = Q.fid_kid(a, blobs(300, 0.0, dim=64, seed=9).double())  # another draw of the same distribution
    other = Q.fid_kid(a, blobs(300, 0.5, dim=64, seed=8).double())
    assert abs(same["kid"]) < 0.02 and other["kid"] > 5 * max(abs(same["kid"]), 0.01)
    assert other["fid"] > 16 > same["fid"] / 2 and other["kid_std"] >= 0  # mean shift alone: 64 * 0.25


# -- Inception weights: never unpickle, clear messages offline ---------------------------------------------
def test_a_weights_file_with_code_is_refused_and_never_run(tmp_path):
    pytest.importorskip("torch_fidelity")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "inception.pth"
    torch.save({"w": Payload()}, bad)
    with pytest.raises(UserError, match="not a plain file of tensors"):
        Q.load_inception(bad)
    assert not marker.exists()
    with pytest.raises(UserError, match="no such file"):
        Q.load_inception(tmp_path / "missing.pth")


def test_offline_without_weights_fid_is_one_clear_error(tmp_path, monkeypatch, capsys, trained):
    pytest.importorskip("torch_fidelity")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty hub cache
    monkeypatch.setattr(Q, "INCEPTION_URL", "http://127.0.0.1:9/weights.pth")  # nothing listens: offline
    assert main(["metrics", str(trained), "--n", "16", "--fid"]) == 2
    err = capsys.readouterr().err
    assert "latentlab: error: FID/KID need the Inception weights" in err and "--inception PATH" in err
    assert "Traceback" not in err


def test_inception_from_a_local_weights_file(tmp_path, monkeypatch, faces):
    """The --inception path: a plain tensor file loads (weights-only) into the FID Inception, which
    gives 2048-d features; an Inception of random weights stands in for the 92 MB original."""
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    monkeypatch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
    monkeypatch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
    net = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    monkeypatch.undo()
    weights = tmp_path / Q.INCEPTION_FILE
    torch.save({k: v.clone() for k, v in net.state_dict().items()}, weights)
    loaded = Q.load_inception(weights)
    feats = Q.inception_features(loaded, faces.images[:3])
    assert feats.shape == (3, 2048) and torch.isfinite(feats).all()
    assert torch.equal(loaded.state_dict()["fc.weight"], net.state_dict()["fc.weight"])


# -- memorization -------------------------------------------------------------------------------------------
def test_nearest_training_images_finds_the_copy(faces):
    hits = nearest_training_images(faces.images[17], faces, k=4)
    assert hits[0].index == 17 and hits[0].distance < 1e-4 and hits[0].near_copy
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    assert all(not h.near_copy for h in hits[1:]) and hits[1].relative > COPY_DISTANCE
    assert hits[0].image.shape == (32, 32, 3) and hits[0].image.dtype == np.uint8
    as_generated = torch.from_numpy(np.array(faces.images[17])).permute(2, 0, 1).float() / 127.5 - 1
    assert nearest_training_images(as_generated, faces, k=1)[0].index == 17
    held_out = faces.images[len(faces) - 1]  # not a training image: its nearest neighbour is another face
    assert nearest_training_images(held_out, faces, k=1)[0].index < faces.train_count


# -- during training and from the command line -------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    list(Trainer(tiny_config("dcgan", steps=4, quality_every=2, quality_n=16, ema=0.9), out).run())
    return out / "checkpoints" / "latest.safetensors"


def test_quality_events_during_training_leave_the_run_exact(tmp_path):
    runs = {}
    for every in (2, 0):
        runs[every] = tmp_path / f"run{every}"
        list(Trainer(tiny_config("dcgan", steps=4, quality_every=every, quality_n=16, ema=0.9), runs[every]).run())
    rows = [json.loads(line) for line in (runs[2] / "events.jsonl").read_text().splitlines()]
    quality = [r for r in rows if r["kind"] == "quality"]
    assert [r["step"] for r in quality] == [2, 4]
    assert {"precision", "recall", "fd_random", "diversity", "n"} <= set(quality[0]["data"])
    assert 0 <= quality[0]["data"]["precision"] <= 1 and quality[0]["data"]["n"] == 16
    # the measurement draws its own z: the training itself is the same with and without it
    strip = lambda p: [{k: v for k, v in json.loads(line).items() if k not in ("time", "img_per_s")}
                       for line in (p / "metrics.jsonl").read_text().splitlines()]
    assert strip(runs[2]) == strip(runs[0])


def test_quality_history_reads_incrementally_and_survives_a_rewrite(tmp_path):
    events = tmp_path / "events.jsonl"
    rows = [Event("info", 0, "data").to_row(),
            Event("quality", 100, "q", data={"precision": 0.5, "recall": 0.25, "fd_random": 3.0}).to_row(),
            Event("alert", 150, "collapse!", data={"kind": "collapse"}).to_row()]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "quali')
    (tmp_path / "config.toml").write_text("")
    history = QualityHistory(tmp_path)
    assert history.poll()
    assert history.series("precision") == ([100], [0.5]) and history.series("fid") == ([], [])
    assert [h["message"] for h in history.health] == ["collapse!"]
    with open(events, "a") as f:
        f.write('ty", "step": 200, "message": "q", "data": {"precision": 0.75}}\n')
    assert history.poll() and history.series("precision") == ([100, 200], [0.5, 0.75])
    assert not history.poll()
    events.write_text(json.dumps(rows[1]) + "\n")  # a resume cut the log back
    assert history.poll() and history.series("precision") == ([100], [0.5]) and history.health == []


def test_metrics_command_prints_and_writes_json(tmp_path, capsys, trained):
    out = tmp_path / "m.json"
    assert main(["metrics", str(trained), "--n", "24", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for key in ("precision", "recall", "fd_random", "diversity", "never with published figures"):
        assert key in printed
    values = json.loads(out.read_text())
    assert values["n_fake"] == 24 and values["step"] == 4 and 0 <= values["recall"] <= 1
    assert main(["metrics", str(trained), "--n", "3"]) == 2
    assert main(["metrics", str(tmp_path / "nope.safetensors")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err

import av
import numpy as np
import pytest
import torch

from latentlab.config import Config, ModelConfig, UserError
from latentlab.inference.render import Renderer, frames_rgb, frames_yuv420, upscale
from latentlab.latent import random_keyframes
from latentlab.models import build_models
from latentlab.run.grids import tile, to_uint8
from tests.nets import vivid


def tiny(arch: str = "dcgan", seed: int = 0):
    torch.manual_seed(seed)
    nets = build_models(ModelConfig(arch=arch, image_size=32, latent_dim=8, g_width=4, d_width=4, e_width=4))
    return {name: vivid(net) for name, net in nets.items()}


def test_render_shape_dtype_matches_generator_and_is_deterministic():
    g = tiny()["G"]
    renderer = Renderer(g)
    z = random_keyframes(5, 8, seed=1)
    result = renderer.render(z)
    assert result.ok and result.error is None and result.ms > 0
    assert result.images.dtype == np.uint8 and result.images.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(result.images, renderer.render(z).images)
    with torch.no_grad():
        expected = to_uint8(g.eval()(torch.from_numpy(z))).numpy()
    assert np.abs(result.images.astype(int) - expected).max() <= 1  # channels_last may round differently
    assert renderer.render(z[0]).images.shape == (1, 32, 32, 3)
    assert len(np.unique(result.images)) > 10  # not a blank image


def test_renderer_holds_its_own_eval_copy():
    g = tiny()["G"].train()
    renderer = Renderer(g)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    renderer.render(random_keyframes(4, 8))
    assert g.training and not renderer.G.training
    for k, v in g.state_dict().items():
        assert torch.equal(v, before[k])
    assert not any(p.requires_grad for p in renderer.G.parameters())


def test_errors_land_in_the_result():
    renderer = Renderer(tiny()["G"])
    bad = renderer.render(np.zeros((2, 5), np.float32))
    assert not bad.ok and bad.images is None and "(N, 8)" in bad.error

    def explode(*_):
        raise RuntimeError("kaboom")

    renderer.G.forward = explode
    result = renderer.render(np.zeros((1, 8), np.float32))
    assert result.error == "RuntimeError: kaboom"
    no_encoder = renderer.encode(np.zeros((32, 32, 3), np.uint8))
    assert not no_encoder.ok and "no encoder" in no_encoder.error


def test_swap_weights_hot_and_checked():
    renderer = Renderer(tiny(seed=0)["G"])
    z = random_keyframes(2, 8)
    old = renderer.render(z).images
    other = tiny(seed=1)["G"]
    renderer.swap_weights(other)
    new = renderer.render(z).images
    assert not np.array_equal(old, new)
    np.testing.assert_array_equal(new, Renderer(other).render(z).images)
    renderer.swap_weights({k: v.clone() for k, v in tiny(seed=0)["G"].state_dict().items()})
    np.testing.assert_array_equal(renderer.render(z).images, old)
    wide = build_models(ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=8))["G"]
    with pytest.raises(UserError, match="has shape"):
        renderer.swap_weights(wide)
    np.testing.assert_array_equal(renderer.render(z).images, old)  # the old weights stayed


def test_encode_and_reconstruct_vaegan():
    nets = tiny("vaegan")
    renderer = Renderer(nets["G"], nets["E"])
    assert renderer.has_encoder
    photos = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    enc = renderer.encode(photos)
    assert enc.ok and enc.z.shape == (3, 8) and enc.z.dtype == np.float32
    with torch.no_grad():
        mu = nets["E"].eval()(torch.from_numpy(photos).permute(0, 3, 1, 2).float() / 127.5 - 1)[0]
    np.testing.assert_allclose(enc.z, mu.numpy(), atol=1e-4)
    rec = renderer.reconstruct(photos[0])
    assert rec.ok and rec.images.shape == (1, 32, 32, 3) and rec.z.shape == (1, 8)
    np.testing.assert_array_equal(rec.images, renderer.render(rec.z).images)
    wrong = renderer.encode(np.zeros((16, 16, 3), np.uint8))
    assert not wrong.ok and "(32, 32, 3)" in wrong.error


def test_from_checkpoint(tmp_path):
    from latentlab.run.checkpoint import save_checkpoint

    g = tiny()["G"]
    cfg = Config(model=ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=4, d_width=4))
    path = save_checkpoint(tmp_path / "c.safetensors", {f"G.{k}": v for k, v in g.state_dict().items()},
                           {"config": cfg.to_toml(), "step": 7})
    renderer = Renderer.from_checkpoint(path)
    assert renderer.step == 7 and renderer.config.model.latent_dim == 8 and not renderer.has_encoder
    z = random_keyframes(2, 8)
    np.testing.assert_array_equal(renderer.render(z).images, Renderer(g).render(z).images)
    with pytest.raises(UserError):
        Renderer.from_checkpoint(tmp_path / "missing.safetensors")


def test_upscale_and_tile():
    img = np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    big = upscale(img, 12)
    assert big.shape == (2, 12, 12, 3)
    np.testing.assert_array_equal(big[:, ::3, ::3], img)
    np.testing.assert_array_equal(big[:, 2::3, 1::3], img)
    assert upscale(img[0], 10, "bicubic").shape == (10, 10, 3)
    assert upscale(img, 7).shape == (2, 7, 7, 3)
    grid = tile(np.concatenate([img, img, img]), rows=2, cols=3, pad=2, fill=0, border=False)
    assert grid.shape == (2 * 4 + 2, 3 * 4 + 4, 3)
    np.testing.assert_array_equal(grid[6:10, 12:16], img[1])
    assert (grid[4:6] == 0).all()
    with pytest.raises(UserError):
        tile(img, 2, 2)


def _yuv_to_rgb(planes: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    return frame.to_ndarray(format="rgb24")


@pytest.mark.parametrize("rows,cols,size", [(1, 1, 32), (1, 1, 128), (1, 1, 96), (2, 3, 64)])
def test_yuv_frames_match_rgb_frames(rows, cols, size):
    renderer = Renderer(tiny()["G"])
    x = renderer.generate(random_keyframes(2 * rows * cols, 8, seed=3))
    rgb = frames_rgb(x, rows, cols, size)
    yuv = frames_yuv420(x, rows, cols, size)
    assert rgb.shape[0] == yuv.shape[0] == 2
    h, w = rgb.shape[1:3]
    assert yuv.shape[1:] == (h * 3 // 2, w)
    for i in range(2):
        back = _yuv_to_rgb(yuv[i]).astype(int)
        # The same frame through swscale's RGB -> 4:2:0 conversion (what the encoder would do).
        reference = av.VideoFrame.from_ndarray(rgb[i], format="rgb24").reformat(format="yuv420p")
        ours = np.abs(back - rgb[i]).mean()
        theirs = np.abs(reference.to_ndarray(format="rgb24").astype(int) - rgb[i]).mean()
        assert ours <= theirs + 0.5, (ours, theirs)  # at least as faithful as swscale's conversion
        if (size // 32) % 2 == 0:  # chroma pairs inside one upscaled pixel: 4:2:0 loses nothing
            assert np.abs(back - rgb[i]).mean() < 2
    cell = upscale(renderer.render_uint8(random_keyframes(2 * rows * cols, 8, seed=3))[0], size)
    np.testing.assert_array_equal(rgb[0, :size, :size], cell)


@pytest.mark.parametrize("arch", ["dcgan", "vaegan", "torchgan2015"])
def test_folded_batchnorm_computes_the_same_function(arch):
    size = 64 if arch == "torchgan2015" else 32
    torch.manual_seed(2)
    nets = build_models(ModelConfig(arch=arch, image_size=size, latent_dim=8, g_width=4, d_width=4, e_width=4))
    with torch.no_grad():  # give every BatchNorm statistics and an affine part far from the identity
        for net in nets.values():
            vivid(net)
            for m in net.modules():
                if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    m.running_mean.normal_(0, 0.5)
                    m.running_var.uniform_(0.3, 3)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.3)
    renderer = Renderer(nets["G"], nets.get("E"))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in renderer.G.modules())
    z = torch.from_numpy(random_keyframes(4, 8, seed=1))
    with torch.no_grad():
        expected = nets["G"].eval()(z)
    np.testing.assert_allclose(renderer.generate(z).numpy(), expected.numpy(), atol=1e-4)
    if "E" in nets:
        photos = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
        with torch.no_grad():
            mu = nets["E"].eval()(torch.from_numpy(photos).permute(0, 3, 1, 2).float() / 127.5 - 1)[0]
        np.testing.assert_allclose(renderer.encode(photos).z, mu.numpy(), atol=1e-4)


@pytest.mark.parametrize("arch", ["dcgan", "vaegan", "torchgan2015"])
def test_onnxruntime_backend_within_one_level_of_the_torch_path(arch):
    """backend="auto" renders small batches with ONNX Runtime: every uint8 pixel is within 1/255 of the
    reference (torch) path, before and after a weight swap; large batches stay on torch exactly."""
    pytest.importorskip("onnxruntime")
    from latentlab.inference.render_onnx import ORT_MAX_BATCH

    size = 64 if arch == "torchgan2015" else 32
    nets = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets[seed] = vivid(build_models(ModelConfig(arch=arch, image_size=size, latent_dim=8, g_width=4,
                                                    d_width=4, e_width=4))["G"])
    fast, reference = Renderer(nets[0], backend="auto"), Renderer(nets[0])
    assert fast.backend == "onnxruntime" and reference.backend == "torch"
    z = random_keyframes(ORT_MAX_BATCH, 8, seed=3)
    for threads in (1, 2):
        fast.threads = threads
        got, want = fast.render(z).images, reference.render(z).images
        assert np.abs(got.astype(int) - want).max() <= 1
        assert len(np.unique(got)) > 10
    fast.swap_weights(nets[1])
    reference.swap_weights(nets[1])
    got, want = fast.render(z[:1]).images, reference.render(z[:1]).images
    assert np.abs(got.astype(int) - want).max() <= 1
    assert np.abs(got.astype(int) - Renderer(nets[0]).render(z[:1]).images).max() > 1  # the swap took
    big = random_keyframes(ORT_MAX_BATCH + 1, 8, seed=4)
    np.testing.assert_array_equal(fast.render(big).images, reference.render(big).images)
    np.testing.assert_array_equal(fast.render_uint8(z), reference.render_uint8(z))  # batch jobs: torch


def test_background_export_renders_with_torch_until_ready_and_takes_a_swap_made_meanwhile(monkeypatch):
    """enable_fast_path(background=True): renders go through torch while the export runs; a weight
    swap during the export makes the installed graph carry the new weights, never the old."""
    pytest.importorskip("onnxruntime")
    import threading

    import latentlab.inference.render as render_module

    nets = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets[seed] = vivid(build_models(ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=4,
                                                    d_width=4))["G"])
    entered, release, exported = threading.Event(), threading.Event(), []
    real_export = render_module.ort_generator

    def held_export(G, latent_dim):
        entered.set()
        assert release.wait(60), "the test never released the export"
        exported.append(G)
        return real_export(G, latent_dim)

    monkeypatch.setattr(render_module, "ort_generator", held_export)
    fast = Renderer(nets[0])
    fast.enable_fast_path(background=True)
    z = random_keyframes(2, 8, seed=3)
    first = fast.render(z)  # the export is held: this picture comes from torch
    assert first.error is None and fast.backend == "torch" and not fast.wait_fast_path(0)
    assert entered.wait(60)  # the export has read the old weights
    fast.swap_weights(nets[1])
    release.set()
    assert fast.wait_fast_path(60)
    assert fast.backend == "onnxruntime"
    want = Renderer(nets[1]).render(z).images
    assert np.abs(fast.render(z).images.astype(int) - want).max() <= 1
    assert np.abs(want.astype(int) - first.images).max() > 1  # the swap changed the picture
    assert len(exported) == 2  # the first export (old weights) was discarded and redone

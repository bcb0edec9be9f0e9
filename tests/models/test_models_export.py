"""ONNX and TorchScript export: the files compute what the PyTorch networks compute, and say what they hold."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.config import Config, ModelConfig
from latentlab.models import build_models
from latentlab.models.dcgan_import import import_dcgan_file
from latentlab.models.export import export_onnx, export_torchscript
from latentlab.run.checkpoint import save_checkpoint
from tests.models.test_models_dcgan_import import NGF, ExampleNetG, trained_like
from tests.nets import vivid

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

NZ = 8
TOL = 1e-4
CONFIGS = {
    "dcgan": ModelConfig(arch="dcgan", image_size=32, latent_dim=NZ, g_width=4, d_width=4),
    "torchgan2015": ModelConfig(arch="torchgan2015", image_size=64, latent_dim=NZ, g_width=4, d_width=4),
    "vaegan": ModelConfig(arch="vaegan", image_size=32, latent_dim=NZ, g_width=4, d_width=4, e_width=4),
}


def with_statistics(net: nn.Module, seed: int) -> nn.Module:
    """Weights and batch-norm statistics as training leaves them, so eval-mode BN is not the identity."""
    generator = torch.Generator().manual_seed(seed)
    vivid(net, seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.2, 0.2, generator=generator)
                m.running_mean.uniform_(-0.3, 0.3, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)
    return net.eval()


def nets(arch: str) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {name: with_statistics(net, i) for i, (name, net) in enumerate(build_models(CONFIGS[arch]).items())}


def latents(n: int = 16) -> torch.Tensor:
    return torch.randn(n, NZ, generator=torch.Generator().manual_seed(7))


def faces(size: int, n: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(8)) * 2 - 1


def run_onnx(path, feed: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: feed})


def props(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("arch", ["dcgan", "torchgan2015"])
def test_onnx_generator_matches_pytorch(arch, tmp_path):
    G = nets(arch)["G"]
    path = export_onnx(G, CONFIGS[arch], "generator", tmp_path / "G.onnx")
    z = latents()
    with torch.no_grad():
        expected = G(z).clamp(-1, 1).numpy()
    (images,) = run_onnx(path, z.numpy())
    assert images.shape == (16, 3, CONFIGS[arch].image_size, CONFIGS[arch].image_size)
    assert expected.std() > 0.05  # a flat image would match anything
    np.testing.assert_allclose(images, expected, atol=TOL, rtol=0)
    meta = props(path)
    assert meta["model_kind"] == arch and meta["role"] == "generator" and meta["latent_dim"] == str(NZ)
    assert meta["image_size"] == str(CONFIGS[arch].image_size) and meta["pixel_range"] == "[-1, 1]"
    assert meta["batch"] == "dynamic"
    # Any batch size, as promised by `dynamic`.
    (one,) = run_onnx(path, z[:1].numpy())
    np.testing.assert_allclose(one, expected[:1], atol=TOL, rtol=0)


def vaegan_checkpoint(tmp_path):
    models = nets("vaegan")
    cfg = Config(name="tiny-vaegan", model=CONFIGS["vaegan"]).validate()
    tensors = {f"{name}.{k}": v for name, net in models.items() for k, v in net.state_dict().items()}
    path = tmp_path / "vaegan.safetensors"
    save_checkpoint(path, tensors, {"config": cfg.to_toml(), "arch": "vaegan", "step": 5, "epoch": 0})
    return path, models


def test_cli_exports_a_vaegan_generator_and_encoder(tmp_path, capsys):
    from latentlab.cli import main

    ckpt, models = vaegan_checkpoint(tmp_path)
    g_path, e_path = tmp_path / "G.onnx", tmp_path / "E.onnx"
    assert main(["export", str(ckpt), "--onnx", str(g_path), "--encoder", str(e_path)]) == 0, capsys.readouterr().err
    z, x = latents(), faces(32)
    with torch.no_grad():
        expected_images = models["G"](z).clamp(-1, 1).numpy()
        mu, logvar = (t.numpy() for t in models["E"](x))
    (images,) = run_onnx(g_path, z.numpy())
    np.testing.assert_allclose(images, expected_images, atol=TOL, rtol=0)
    got_mu, got_logvar = run_onnx(e_path, x.numpy())
    assert mu.std() > 0.01 and logvar.std() > 0.01
    np.testing.assert_allclose(got_mu, mu, atol=TOL, rtol=0)
    np.testing.assert_allclose(got_logvar, logvar, atol=TOL, rtol=0)
    session = ort.InferenceSession(str(e_path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["mu", "logvar"]
    meta = props(e_path)
    assert meta["role"] == "encoder" and meta["model_kind"] == "vaegan" and meta["step"] == "5"
    assert props(g_path)["checkpoint"] == "vaegan.safetensors"


def test_imported_netg_exports_with_a_fixed_batch(tmp_path, capsys):
    from latentlab.cli import main

    torch.manual_seed(0)
    reference = trained_like(ExampleNetG(NZ, NGF))
    netg = tmp_path / "netG.pth"
    torch.save(reference.state_dict(), netg)
    ckpt = tmp_path / "imported.safetensors"
    assert main(["import-dcgan", str(netg), "--out", str(ckpt), "--nz", str(NZ), "--ngf", str(NGF)]) == 0
    out = tmp_path / "G.onnx"
    assert main(["export", str(ckpt), "--onnx", str(out), "--batch", "16"]) == 0, capsys.readouterr().err
    z = latents()
    with torch.no_grad():
        expected = reference(z[:, :, None, None]).numpy()  # the example's own network, as trained
    (images,) = run_onnx(out, z.numpy())
    np.testing.assert_allclose(images, expected, atol=TOL, rtol=0)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [16, NZ]
    assert props(out)["batch"] == "16" and props(out)["image_size"] == "64"


@pytest.mark.parametrize(("arch", "role"), [("dcgan", "generator"), ("torchgan2015", "generator"),
                                            ("vaegan", "generator"), ("vaegan", "encoder")])
def test_torchscript_matches_pytorch(arch, role, tmp_path):
    net = nets(arch)["G" if role == "generator" else "E"]
    cfg = CONFIGS[arch]
    net.train()
    path = export_torchscript(net, cfg, role, tmp_path / "net.pt")
    assert net.training  # the export traced an eval-mode copy and left the caller's module alone
    net.eval()
    loaded = torch.jit.load(str(path), _extra_files=(extra := {"latentlab.json": ""}))
    feed = latents() if role == "generator" else faces(cfg.image_size)
    with torch.no_grad():
        got, expected = loaded(feed), net(feed)
    if role == "generator":
        expected = expected.clamp(-1, 1)
        torch.testing.assert_close(got, expected, atol=TOL, rtol=0)
    else:
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, atol=TOL, rtol=0)
    meta = json.loads(extra["latentlab.json"])
    assert meta["model_kind"] == arch and meta["role"] == role and meta["latent_dim"] == str(NZ)


def test_imported_netg_torchscript(tmp_path):
    torch.manual_seed(0)
    reference = trained_like(ExampleNetG(NZ, NGF))
    netg = tmp_path / "netG.pth"
    torch.save(reference.state_dict(), netg)
    cfg, G = import_dcgan_file(netg, nz=NZ, ngf=NGF)
    loaded = torch.jit.load(str(export_torchscript(G.eval(), cfg, "generator", tmp_path / "G.pt")))
    z = latents()
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), reference(z[:, :, None, None]), atol=TOL, rtol=0)


@pytest.mark.parametrize(("args", "message"), [
    ([], "--onnx G.onnx and/or --torchscript"),
    (["--onnx", "G.pt"], "name a .onnx file"),
    (["--torchscript", "G.onnx"], "name a .pt file"),
    (["--onnx", "G.onnx", "--batch", "0"], "--batch: must be dynamic or a whole number 1 to 4096"),
    (["--onnx", "G.onnx", "--batch", "many"], "--batch: must be dynamic or a whole number 1 to 4096"),
    (["--torchscript", "G.pt", "--encoder", "E.txt"], "E.txt: name an .onnx file"),
    (["--onnx", "no/such/dir/G.onnx"], "the folder does not exist"),
])
def test_bad_export_requests_are_one_line_and_write_nothing(args, message, tmp_path, monkeypatch, capsys):
    from latentlab.cli import main

    ckpt, _ = vaegan_checkpoint(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(ckpt), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vaegan.safetensors"]


def test_encoder_of_a_gan_is_refused(tmp_path, capsys):
    from latentlab.cli import main

    models = nets("dcgan")
    cfg = Config(name="tiny", model=CONFIGS["dcgan"]).validate()
    ckpt = tmp_path / "dcgan.safetensors"
    save_checkpoint(ckpt, {f"G.{k}": v for k, v in models["G"].state_dict().items()},
                    {"config": cfg.to_toml(), "arch": "dcgan", "step": 1, "epoch": 0})
    assert main(["export", str(ckpt), "--torchscript", str(tmp_path / "G.pt"),
                 "--encoder", str(tmp_path / "E.pt")]) == 2
    assert "without an encoder" in capsys.readouterr().err
    assert not (tmp_path / "G.pt").exists()

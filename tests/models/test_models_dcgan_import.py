"""Importing a netG trained with the PyTorch DCGAN example/tutorial layout."""

import pickle
import re

import pytest
import torch
from torch import nn

from latentlab.config import UserError
from latentlab.models.dcgan_import import import_dcgan_file, import_dcgan_state_dict, load_state_dict_file

NZ, NGF = 8, 4


class ExampleNetG(nn.Module):
    """The PyTorch DCGAN example's Generator, written out layer by layer (64 px, nc = 3)."""

    def __init__(self, nz, ngf, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


def stacked_netg(nz, ngf, n_convt):
    """The same pattern with one stage fewer (32 px) or more (128 px)."""
    c = ngf * 2 ** (n_convt - 2)
    layers = [nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
    for _ in range(n_convt - 2):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ConvTranspose2d(c, 3, 4, 2, 1, bias=False), nn.Tanh()]
    net = nn.Module()
    net.main = nn.Sequential(*layers)
    return net


def trained_like(net):
    """Give every weight and batch-norm statistic a non-default value, as training would."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.normal_(0, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(1234)
    return net.eval()


@pytest.fixture
def reference():
    torch.manual_seed(0)
    return trained_like(ExampleNetG(NZ, NGF))


def test_import_matches_the_example_generator(reference, tmp_path):
    path = tmp_path / "netG_epoch_24.pth"
    torch.save(reference.state_dict(), path)
    state = load_state_dict_file(path)
    rng = torch.get_rng_state()
    cfg, G = import_dcgan_state_dict(state, nz=NZ, ngf=NGF)
    assert torch.equal(rng, torch.get_rng_state())
    assert (cfg.arch, cfg.image_size, cfg.latent_dim, cfg.g_width) == ("dcgan", 64, NZ, NGF)
    assert not G.training and G.latent_dim == NZ and G.image_size == 64
    z = torch.randn(5, NZ, 1, 1)
    with torch.no_grad():
        want = reference(z)
        got = G(z)
        got_flat = G(z.flatten(1))
    assert got.shape == (5, 3, 64, 64)
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.equal(got, got_flat)


def test_data_parallel_prefix_and_wrapper_are_accepted(reference, tmp_path):
    wrapped = nn.DataParallel(reference)
    state = wrapped.state_dict()
    assert next(iter(state)).startswith("module.main.0")
    path = tmp_path / "netG.pth"
    torch.save({"epoch": 3, "state_dict": state}, path)
    _, G = import_dcgan_state_dict(load_state_dict_file(path), nz=NZ, ngf=NGF)
    z = torch.randn(2, NZ)
    with torch.no_grad():
        assert torch.allclose(G(z), reference(z[:, :, None, None]), atol=1e-5)


@pytest.mark.parametrize("n_convt,size", [(4, 32), (6, 128)])
def test_image_size_follows_layer_count(n_convt, size):
    torch.manual_seed(1)
    ref = trained_like(stacked_netg(NZ, 2, n_convt))
    cfg, G = import_dcgan_state_dict(ref.state_dict(), nz=NZ, ngf=2)
    assert cfg.image_size == size == G.image_size
    z = torch.randn(2, NZ, 1, 1)
    with torch.no_grad():
        assert torch.allclose(G(z), ref.main(z), atol=1e-5)


def test_import_file_names_the_file(reference, tmp_path):
    path = tmp_path / "netG.pth"
    torch.save(reference.state_dict(), path)
    cfg, _ = import_dcgan_file(path, nz=NZ, ngf=NGF)
    assert cfg.image_size == 64
    with pytest.raises(UserError, match=r"netG\.pth: main\.0\.weight: expected shape"):
        import_dcgan_file(path)


def test_wrong_shape_names_first_mismatching_key(reference):
    with pytest.raises(UserError) as err:
        import_dcgan_state_dict(reference.state_dict(), nz=100, ngf=64)
    msg = str(err.value)
    assert msg.startswith("main.0.weight: expected shape (100, 512, 4, 4), got (8, 32, 4, 4)")
    assert "--nz 8 --ngf 4" in msg

    state = reference.state_dict()
    state["main.4.running_var"] = torch.ones(7)
    with pytest.raises(UserError, match=r"^main\.4\.running_var: expected shape \(16,\), got \(7,\)"):
        import_dcgan_state_dict(state, nz=NZ, ngf=NGF)


def test_missing_and_unexpected_keys(reference):
    state = reference.state_dict()
    del state["main.7.running_mean"]
    del state["main.10.weight"]
    with pytest.raises(UserError, match=r"missing key main\.7\.running_mean"):
        import_dcgan_state_dict(state, nz=NZ, ngf=NGF)

    for missing in ("main.3.weight", "main.12.weight", "main.0.weight"):  # a convolution: named, not misread
        state = reference.state_dict()
        del state[missing]
        with pytest.raises(UserError, match=rf"missing key {re.escape(missing)} for a 64 px"):
            import_dcgan_state_dict(state, nz=NZ, ngf=NGF)

    # checkpoints from before PyTorch 0.4 have no num_batches_tracked: still fine
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    import_dcgan_state_dict(state, nz=NZ, ngf=NGF)

    state = reference.state_dict()
    state["main.13.weight"] = torch.ones(3)
    with pytest.raises(UserError, match=r"unexpected key main\.13\.weight"):
        import_dcgan_state_dict(state, nz=NZ, ngf=NGF)

    state = reference.state_dict()
    state["main.3.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(UserError, match=r"main\.3\.weight: contains NaN"):
        import_dcgan_state_dict(state, nz=NZ, ngf=NGF)


def test_not_a_generator_state_dict(reference):
    with pytest.raises(UserError, match="not a state dict"):
        import_dcgan_state_dict([1, 2, 3])
    with pytest.raises(UserError, match="not a state dict"):
        import_dcgan_state_dict({"epoch": 3, "lr": 0.1})
    with pytest.raises(UserError, match="not a state dict"):
        import_dcgan_state_dict({"main.0.weight": torch.zeros(1), "note": "hi"})
    with pytest.raises(UserError, match="found 2 transposed-convolution weights"):
        import_dcgan_state_dict({"main.0.weight": torch.zeros(8, 4, 4, 4), "main.3.weight": torch.zeros(4, 3, 4, 4)})


_MARKER = []


def _side_effect():
    _MARKER.append("ran")
    return {}


class _Payload:
    def __reduce__(self):
        return (_side_effect, ())


def test_file_failures_are_user_errors(reference, tmp_path):
    with pytest.raises(UserError, match=r"missing\.pth: no such file"):
        load_state_dict_file(tmp_path / "missing.pth")

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint\n" * 10)
    with pytest.raises(UserError, match=r"garbage\.pth: not a PyTorch state dict file"):
        load_state_dict_file(garbage)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match=r"empty\.pth: truncated or corrupt file"):
        load_state_dict_file(empty)

    good = tmp_path / "good.pth"
    torch.save(reference.state_dict(), good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UserError, match=r"truncated\.pth: truncated or corrupt file"):
        load_state_dict_file(truncated)
    legacy = tmp_path / "legacy.pth"  # the pre-1.6 (non-zip) format still loads
    torch.save(reference.state_dict(), legacy, _use_new_zipfile_serialization=False)
    assert set(load_state_dict_file(legacy)) == set(reference.state_dict())

    evil = tmp_path / "evil.pth"
    torch.save({"main.0.weight": _Payload()}, evil)
    with pytest.raises(UserError, match=r"evil\.pth: refused: it holds a pickled Python object \(.*_side_effect\)"):
        load_state_dict_file(evil)
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(UserError, match=r"evil\.pkl: "):
        load_state_dict_file(raw)
    assert _MARKER == []  # the payload's code never ran

    tensor_only = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor_only)
    with pytest.raises(UserError, match=r"tensor\.pth: holds a Tensor, not a state dict"):
        load_state_dict_file(tensor_only)

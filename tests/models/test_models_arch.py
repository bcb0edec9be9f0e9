"""Shapes, interfaces, initialisation and parameter counts of the three architectures."""

import pytest
import torch
from torch import nn

from latentlab.config import ModelConfig, UserError
from latentlab.models import build_models, count_params

N = 3
TINY = [
    ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=4, d_width=4),
    ModelConfig(arch="dcgan", image_size=64, latent_dim=8, g_width=4, d_width=4),
    ModelConfig(arch="dcgan", image_size=128, latent_dim=8, g_width=2, d_width=2),
    ModelConfig(arch="torchgan2015", image_size=64, latent_dim=8, g_width=4, d_width=4, g_tanh=False),
    ModelConfig(arch="torchgan2015", image_size=64, latent_dim=8, g_width=4, d_width=4, g_tanh=True),
    ModelConfig(arch="vaegan", image_size=32, latent_dim=8, g_width=4, d_width=4, e_width=4),
    ModelConfig(arch="vaegan", image_size=64, latent_dim=8, g_width=4, d_width=4, e_width=4),
]


def _ids(cfg):
    return f"{cfg.arch}-{cfg.image_size}" + ("-tanh" if cfg.arch == "torchgan2015" and cfg.g_tanh else "")


@pytest.mark.parametrize("cfg", TINY, ids=_ids)
def test_shapes_and_interface(cfg):
    torch.manual_seed(0)
    nets = build_models(cfg)
    assert set(nets) == ({"G", "D", "E"} if cfg.arch == "vaegan" else {"G", "D"})
    G, D = nets["G"], nets["D"]
    assert G.latent_dim == cfg.latent_dim and G.image_size == cfg.image_size and G.arch == cfg.arch
    z = torch.randn(N, cfg.latent_dim)
    x = G(z)
    assert x.shape == (N, 3, cfg.image_size, cfg.image_size)
    logits = D(x)
    assert logits.shape == (N,)
    assert torch.isfinite(logits).all()
    # D must still depend on its input (a broken reshape would mix samples or drop them)
    D.eval()
    assert not torch.allclose(D(x[:1]), D(x[1:2]))
    G.eval()
    assert torch.equal(G(z), G(z[:, :, None, None]))
    feats = G.early_features(z)
    assert feats.dim() == 2 and feats.shape[0] == N and feats.shape[1] > cfg.latent_dim
    assert (feats >= 0).all()  # every first block ends in a ReLU
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        G(torch.randn(N, cfg.latent_dim + 1))
    if cfg.arch == "vaegan":
        mu, logvar = nets["E"](x)
        assert mu.shape == logvar.shape == (N, cfg.latent_dim)
        assert not torch.allclose(mu, logvar)


def test_early_features_are_the_first_block():
    torch.manual_seed(1)
    cfg = ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=4)
    G = build_models(cfg)["G"].eval()
    z = torch.randn(2, 8)
    feats = G.early_features(z)
    assert feats.shape == (2, 16 * 4 * 4)
    # the rest of the network applied to the early features gives the full output
    assert torch.allclose(G.main[3:](feats.view(2, 16, 4, 4)), G(z), atol=1e-6)

    cfg = ModelConfig(arch="vaegan", image_size=32, latent_dim=8, g_width=4)
    G = build_models(cfg)["G"].eval()
    feats = G.early_features(z)
    assert feats.shape == (2, 32 * 4 * 4)
    assert torch.allclose(G.body(feats.view(2, 32, 4, 4)), G(z), atol=1e-6)

    cfg = ModelConfig(arch="torchgan2015", latent_dim=8, g_width=4)
    G = build_models(cfg)["G"].eval()
    assert torch.allclose(G.early_features(z), torch.relu(G.fc(z)))


def test_dcgan_layers_match_radford():
    nets = build_models(ModelConfig(arch="dcgan", image_size=64, latent_dim=100, g_width=64, d_width=64))
    convt = [m for m in nets["G"].modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convt] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert [(m.stride, m.padding) for m in convt] == [((1, 1), (0, 0))] + [((2, 2), (1, 1))] * 4
    assert all(m.bias is None and m.kernel_size == (4, 4) for m in convt)
    assert isinstance(nets["G"].main[-1], nn.Tanh)
    convs = [m for m in nets["D"].modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    assert all(m.bias is None for m in convs)
    assert not any(isinstance(m, nn.Sigmoid) for m in nets["D"].modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in nets["D"].modules()) == 3
    slopes = {m.negative_slope for m in nets["D"].modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    # the PyTorch DCGAN example's well-known sizes for nz=100, ngf=ndf=64
    assert count_params(nets["G"]) == 3_576_704
    assert count_params(nets["D"]) == 2_765_568


@pytest.mark.parametrize("size,first", [(32, 4), (128, 16)])
def test_dcgan_stages_per_size(size, first):
    nets = build_models(ModelConfig(arch="dcgan", image_size=size, latent_dim=8, g_width=2, d_width=2))
    convt = [m for m in nets["G"].modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convt[0].out_channels == first * 2 and len(convt) == {32: 4, 128: 6}[size]
    convs = [m for m in nets["D"].modules() if isinstance(m, nn.Conv2d)]
    assert convs[-2].out_channels == first * 2 and len(convs) == len(convt)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    nets = build_models(ModelConfig(arch="dcgan", image_size=64, latent_dim=100, g_width=32, d_width=32))
    w = nets["G"].main[3].weight.detach()  # ConvT(256, 128, 4, 4): 524,288 weights
    assert abs(w.mean().item()) < 1e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    w = nets["D"].main[5].weight.detach()  # Conv(64, 128)
    assert w.std().item() == pytest.approx(0.02, rel=0.03)
    for net in nets.values():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert m.weight.mean().item() == pytest.approx(1.0, abs=0.01)
                assert 0.005 < m.weight.std().item() < 0.04
                assert torch.count_nonzero(m.bias) == 0


def test_same_seed_same_weights():
    cfg = ModelConfig(arch="vaegan", image_size=32, latent_dim=8, g_width=4, d_width=4, e_width=4)
    torch.manual_seed(5)
    a = build_models(cfg)
    torch.manual_seed(5)
    b = build_models(cfg)
    torch.manual_seed(6)
    c = build_models(cfg)
    for name in a:
        sa, sb = a[name].state_dict(), b[name].state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(a["E"].mu.weight, c["E"].mu.weight)


@pytest.mark.parametrize("cfg,match", [
    (ModelConfig(arch="stylegan"), "model.arch must be one of dcgan, torchgan2015, vaegan"),
    (ModelConfig(arch="dcgan", image_size=48), "model.image_size for dcgan must be one of 32, 64, 128 .got 48"),
    (ModelConfig(arch="torchgan2015", image_size=32), "torchgan2015 must be one of 64 "),
    (ModelConfig(arch="vaegan", image_size=128), "vaegan must be one of 32, 64 "),
    (ModelConfig(arch="dcgan", g_width=0), "model.g_width must be"),
])
def test_bad_config_is_a_user_error(cfg, match):
    with pytest.raises(UserError, match=match):
        build_models(cfg)


def test_torchgan2015_discriminator_layout_and_param_count():
    D = build_models(ModelConfig(arch="torchgan2015", latent_dim=100, g_width=128, d_width=32))["D"]
    kinds = [type(m).__name__ for m in D.convs]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Dropout2d"] * 2 + ["Conv2d", "ReLU", "MaxPool2d", "Dropout2d"]
    assert all(m.p == 0.2 for m in D.convs if isinstance(m, nn.Dropout2d))
    assert [m.p for m in D.classifier if isinstance(m, nn.Dropout)] == [0.5]
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.Sigmoid)) for m in D.modules())
    expected = (
        3 * 32 * 25 + 32          # conv5x5 3 -> 32
        + 32 * 64 * 25 + 64       # conv5x5 32 -> 64
        + 64 * 96 * 25 + 96       # conv5x5 64 -> 96
        + 8 * 8 * 96 * 1024 + 1024  # Linear 6144 -> 1024
        + 1024 + 1                # Linear 1024 -> 1
    )
    assert count_params(D) == expected == 6_500_897


def test_torchgan2015_generator_param_count():
    G = build_models(ModelConfig(arch="torchgan2015", latent_dim=100, g_width=128, d_width=32, g_tanh=False))["G"]
    expected = (
        100 * 128 * 64 + 128 * 64               # Linear z -> 128*8*8
        + 128 * 256 * 25 + 256 + 2 * 256        # conv5x5 -> 256, BN
        + 256 * 256 * 25 + 256 + 2 * 256        # conv5x5 -> 256, BN
        + 256 * 128 * 25 + 128 + 2 * 128        # conv5x5 -> 128, BN
        + 128 * 3 * 9 + 3                       # conv3x3 -> 3
    )
    assert count_params(G) == expected
    assert not any(isinstance(m, nn.Tanh) for m in G.modules())


def test_torchgan2015_tanh_option_bounds_output():
    cfg = ModelConfig(arch="torchgan2015", latent_dim=8, g_width=4, d_width=4, g_tanh=False)
    torch.manual_seed(0)
    raw = build_models(cfg)["G"].eval()
    cfg.g_tanh = True
    torch.manual_seed(0)
    bounded = build_models(cfg)["G"].eval()
    with torch.no_grad():
        for G in (raw, bounded):  # a large last layer drives the output far outside [-1, 1]
            G.body[-2 if G is bounded else -1].weight.mul_(50)
        z = torch.randn(4, 8)
        x_raw, x_bounded = raw(z), bounded(z)
    assert x_raw.abs().max() > 2
    assert x_bounded.abs().max() <= 1
    assert torch.allclose(torch.tanh(x_raw), x_bounded, atol=1e-6)


def test_torchgan2015_dropout_only_in_training():
    torch.manual_seed(0)
    D = build_models(ModelConfig(arch="torchgan2015", latent_dim=8, g_width=4, d_width=4))["D"]
    x = torch.randn(4, 3, 64, 64)
    assert not torch.equal(D(x), D(x))
    D.eval()
    assert torch.equal(D(x), D(x))


@pytest.mark.parametrize("size", [32, 64])
def test_vaegan_dis_l_is_fourth_conv_before_bn(size):
    torch.manual_seed(0)
    D = build_models(ModelConfig(arch="vaegan", image_size=size, latent_dim=8, g_width=4, d_width=4, e_width=4))["D"]
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 16, 32, 32]
    assert [c.stride for c in convs] == [(1, 1)] + [(2, 2)] * 3
    seen = {}
    convs[3].register_forward_hook(lambda m, i, o: seen.__setitem__("conv4", o.detach().clone()))
    D.bn4.register_forward_hook(lambda m, i, o: seen.__setitem__("bn4", o.detach().clone()))
    x = torch.randn(4, 3, size, size)
    logits, feats = D.forward_features(x)
    assert logits.shape == (4,)
    assert feats.shape == (4, 32, size // 8, size // 8)
    assert torch.equal(feats, seen["conv4"])
    assert not torch.allclose(feats, seen["bn4"])  # before the batch norm, not after
    assert torch.equal(D.features(x), feats)
    D.eval()
    assert torch.equal(D(x), D.forward_features(x)[0])


@pytest.mark.parametrize("upsample", ["convT5", "convT4", "resize"])
@pytest.mark.parametrize("size", [32, 64])
def test_vaegan_decoder_upsampling_options_keep_the_shape(size, upsample):
    torch.manual_seed(0)
    G = build_models(ModelConfig(arch="vaegan", image_size=size, latent_dim=8, g_width=4, d_width=4, e_width=4,
                                 vae_upsample=upsample))["G"]
    assert G(torch.randn(2, 8)).shape == (2, 3, size, size)
    kinds = {type(m).__name__ for m in G.modules()}
    assert ("ConvTranspose2d" in kinds) == upsample.startswith("convT")
    assert ("Upsample" in kinds) == (upsample == "resize")
    kernels = {m.kernel_size for m in G.modules() if isinstance(m, nn.ConvTranspose2d)}
    assert kernels == {"convT5": {(5, 5)}, "convT4": {(4, 4)}, "resize": set()}[upsample]


def test_vaegan_feature_layer_picks_each_convolution():
    torch.manual_seed(0)
    D = build_models(ModelConfig(arch="vaegan", image_size=32, latent_dim=8, g_width=4, d_width=4, e_width=4))["D"]
    seen = {}
    for i, conv in enumerate((D.conv1, D.conv2, D.conv3, D.conv4), 1):
        conv.register_forward_hook(lambda m, inp, out, i=i: seen.__setitem__(i, out.detach().clone()))
    x = torch.randn(4, 3, 32, 32)
    logits = D(x)
    for layer in (1, 2, 3, 4):
        got_logits, feats = D.forward_features(x, layer)
        assert torch.equal(feats, seen[layer]) and torch.equal(got_logits, logits)


def test_vaegan_widths_follow_the_paper():
    nets = build_models(ModelConfig(arch="vaegan", image_size=64, latent_dim=128, g_width=32, d_width=32, e_width=64))
    E, G, D = nets["E"], nets["G"], nets["D"]
    assert [m.out_channels for m in E.modules() if isinstance(m, nn.Conv2d)] == [64, 128, 256]
    assert E.body[-3].out_features == 1024 and E.mu.out_features == E.logvar.out_features == 128
    assert G.fc[0].out_features == 256 * 8 * 8
    assert [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)] == [256, 128, 32]
    assert isinstance(G.body[-1], nn.Tanh)
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [32, 128, 256, 256]
    assert [m.out_features for m in D.head if isinstance(m, nn.Linear)] == [512, 1]

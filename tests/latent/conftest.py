import pytest
import torch

from latentlab.config import ModelConfig
from latentlab.models import build_models


def vivid(net: torch.nn.Module) -> torch.nn.Module:
    """Re-draw a tiny freshly built net's weights large enough that its images vary (DCGAN's N(0, 0.02)
    init at width 4 renders flat grey, which would make pixel assertions vacuous)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Conv2d, torch.nn.Linear)):
                w = m.weight
                fan_in = w.shape[0] * w.shape[2] * w.shape[3] / 4 if isinstance(m, torch.nn.ConvTranspose2d) \
                    else w[0].numel()
                w.normal_(0, 1.5 / fan_in ** 0.5)
    return net


def tiny_nets(arch: str = "dcgan", seed: int = 0) -> dict:
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, image_size=32, latent_dim=8, g_width=4, d_width=4, e_width=4)
    return {name: vivid(net) for name, net in build_models(cfg).items()}


@pytest.fixture
def tiny_g():
    return tiny_nets("dcgan")["G"].eval()


@pytest.fixture
def tiny_vaegan():
    return tiny_nets("vaegan")

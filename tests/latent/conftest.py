import pytest
import torch

from latentlab.config import ModelConfig
from latentlab.models import build_models
from tests.nets import vivid


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

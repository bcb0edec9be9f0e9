"""The two helpers every layer above models/ shares: uint8 -> [-1, 1], and the eval view of a net."""

import pytest
import torch

from latentlab.models.common import eval_module, from_uint8


def test_from_uint8_is_x_over_127_5_minus_1_for_every_value_bit_for_bit():
    values = torch.arange(256, dtype=torch.uint8)
    images = values.view(1, 1, 256, 1).expand(2, 3, 256, 3).contiguous()  # N, H, W, C
    out = from_uint8(images)
    assert out.shape == (2, 3, 3, 256) and out.dtype == torch.float32
    expected = values.float() / 127.5 - 1.0
    assert torch.equal(out[1, 2, 0], expected)
    assert out[0, 0, 0, 0].item() == -1.0 and out[0, 0, 0, 255].item() == 1.0


def test_from_uint8_refuses_float_images():
    with pytest.raises(TypeError):
        from_uint8(torch.zeros(1, 4, 4, 3))


def test_eval_module_leaves_a_training_net_alone():
    net = torch.nn.BatchNorm1d(2)
    view = eval_module(net)
    assert view is not net and not view.training and net.training
    view(torch.randn(8, 2))
    assert torch.equal(net.running_mean, torch.zeros(2))  # the live net's statistics are untouched
    net.eval()
    assert eval_module(net) is net

"""Test helpers shared across test folders."""

import torch


def vivid(net: torch.nn.Module, seed: int | None = None) -> torch.nn.Module:
    """Re-draw a tiny freshly built net's weights large enough that its images vary (DCGAN's N(0, 0.02)
    init at width 4 renders flat grey, which would make pixel assertions vacuous)."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Conv2d, torch.nn.Linear)):
                w = m.weight
                fan_in = w.shape[0] * w.shape[2] * w.shape[3] / 4 if isinstance(m, torch.nn.ConvTranspose2d) \
                    else w[0].numel()
                w.normal_(0, 1.5 / fan_in ** 0.5, generator=generator)
    return net

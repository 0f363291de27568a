"""Helpers of the timm interop tests (which skip themselves without timm)."""

from __future__ import annotations

import torch

NO_TIMM = "timm is not installed (pip install nasgen[test] or nasgen[timm])"


def perturb_batchnorm(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters (timm's random init leaves
    mean 0 / variance 1 / γ 1 / β 0, under which an epsilon or a padding difference hardly shows)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
    return model

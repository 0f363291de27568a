"""Zero-cost proxies: hand-computed small cases, invariances, determinism, the caller's model left unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasgen.data import ImageDataset
from nasgen.spec import spec_from_dict
from nasgen.train import (
    CPU_PROXY,
    ZERO_COST_SCORES,
    grad_norm,
    naswot,
    naswot_kernel,
    snip,
    synflow,
    zero_cost_batch,
    zero_cost_scores,
)

TINY = {
    "name": "tiny",
    "in_channels": 1,
    "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 16},
    ],
    "head_channels": 32,
    "num_classes": 3,
}


def _grey(n=96, classes=3) -> ImageDataset:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    images = (rng.integers(0, 40, size=(n, 16, 16, 1)) + 60 * labels[:, None, None, None]).astype(np.uint8)
    return ImageDataset(images, labels.astype(np.int64), [str(c) for c in range(classes)], "grey")


def _conv_linear_net() -> nn.Module:
    """Conv2d(1→2, k=2, no bias) on a 2×2 input → ReLU → Linear(2→1, no bias), with fixed signed weights."""
    net = nn.Sequential(
        nn.Conv2d(1, 2, 2, bias=False), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(2, 1, bias=False)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]], [[[-0.5, 0.5], [1.0, -3.0]]]]))
        net[3].weight.copy_(torch.tensor([[3.0, -2.0]]))
    return net


def test_synflow_of_a_two_layer_net_by_hand():
    # |w|: conv sums 4 and 5 on an all-ones 2×2 input; R = 3·4 + 2·5 = 22. The net is linear in each layer's
    # weights, so Σ θ·∂R/∂θ over a layer is R (Euler), and the two layers give 2R = 44.
    net = _conv_linear_net()
    assert synflow(net, torch.randn(5, 1, 2, 2)) == pytest.approx(math.log(44.0), rel=1e-12)


def test_synflow_ignores_data_values_and_leaves_the_model_unchanged():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.SiLU(inplace=True), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(4, 3),
    )
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = synflow(net, torch.randn(8, 1, 6, 6))
    b = synflow(net, torch.zeros(2, 1, 6, 6))
    assert a == b and math.isfinite(a)
    assert synflow(net, torch.zeros(2, 1, 8, 8)) != a  # the input's shape does count
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_synflow_of_a_zero_layer_is_minus_infinity():
    net = _conv_linear_net()
    with torch.no_grad():
        net[3].weight.zero_()
    assert synflow(net, torch.ones(1, 1, 2, 2)) == float("-inf")


def _coded_net(activation: nn.Module) -> nn.Module:
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), activation)
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    return net


@pytest.mark.parametrize("activation", [nn.ReLU(inplace=True), nn.SiLU(inplace=True), nn.GELU()])
def test_naswot_kernel_on_a_fixed_batch(activation):
    # Pre-activations (1, −1, 0), (2, 1, 3), (−1, −2, −3) → codes 100, 111, 000; K[i, j] = agreeing units.
    images = torch.tensor([[1.0, -1.0], [2.0, 1.0], [-1.0, -2.0]]).view(3, 1, 1, 2)
    kernel = naswot_kernel(_coded_net(activation), images)
    expected = torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, 0.0], [2.0, 0.0, 3.0]], dtype=torch.float64)
    assert torch.equal(kernel, expected)
    # det = 3·9 − 1·3 + 2·(−6) = 12
    assert naswot(_coded_net(activation), images, torch.zeros(3, dtype=torch.long)) == pytest.approx(math.log(12.0))


def test_naswot_of_identical_images_is_minus_infinity():
    images = torch.tensor([[1.0, -1.0], [1.0, -1.0]]).view(2, 1, 1, 2)
    assert naswot(_coded_net(nn.ReLU()), images) == float("-inf")


def test_grad_norm_and_snip_of_a_linear_classifier_by_hand():
    # logits = W x = (1, 2) for x = (1, 2), W = I; p = softmax; ∂L/∂W = (p − e_0) xᵀ with p − e_0 = (−q, q),
    # q = e²/(e + e²).
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.eye(2))
    images, labels = torch.tensor([1.0, 2.0]).view(1, 1, 1, 2), torch.tensor([0])
    q = math.exp(2) / (math.exp(1) + math.exp(2))
    assert grad_norm(net, images, labels) == pytest.approx(q * math.sqrt(10.0), rel=1e-6)
    assert snip(net, images, labels) == pytest.approx(3 * q, rel=1e-6)  # |1·(−q)| + |1·2q|
    assert net[1].weight.grad is None and torch.equal(net[1].weight, torch.eye(2))


def test_bad_batches_are_named():
    net = _conv_linear_net()
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        synflow(net, torch.ones(2, 2))
    with pytest.raises(ValueError, match="labels must have shape"):
        grad_norm(net, torch.ones(2, 1, 2, 2), torch.zeros(3, dtype=torch.long))


def test_zero_cost_scores_are_deterministic_given_a_seed():
    spec, data = spec_from_dict(TINY), (_grey(), _grey(30))
    config = CPU_PROXY.replace(resolution_px=16, scale_resolution_from_px=None)
    before = torch.get_rng_state()
    timings: dict[str, float] = {}
    a = zero_cost_scores(spec, data, seed=0, batch_size=32, config=config, timings=timings)
    b = zero_cost_scores(spec, data, seed=0, batch_size=32, config=config)
    c = zero_cost_scores(spec, data, seed=1, batch_size=32, config=config)
    assert torch.equal(before, torch.get_rng_state())
    assert a == b and set(a) == set(ZERO_COST_SCORES) == set(timings)
    assert all(math.isfinite(v) for v in a.values()) and all(t > 0 for t in timings.values())
    assert a["grad_norm"] != c["grad_norm"] and a["synflow"] != c["synflow"]  # another initialization
    with pytest.raises(KeyError, match="unknown zero-cost score 'flops'"):
        zero_cost_scores(spec, data, ("flops",), config=config)


def test_zero_cost_batch_is_seeded_and_normalized():
    data = _grey()
    images, labels = zero_cost_batch(data, 8, batch_size=32, seed=3)
    again, _ = zero_cost_batch(data, 8, batch_size=32, seed=3)
    other, _ = zero_cost_batch(data, 8, batch_size=32, seed=4)
    assert images.shape == (32, 1, 8, 8) and images.dtype == torch.float32 and labels.shape == (32,)
    assert torch.equal(images, again) and not torch.equal(images, other)
    full, _ = zero_cost_batch(data, 16, batch_size=len(data.labels), seed=0)
    assert float(full.mean()) == pytest.approx(0.0, abs=1e-4) and float(full.std()) == pytest.approx(1.0, abs=1e-2)

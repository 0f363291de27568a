"""thop measurement under the cost convention: reference numbers, analytic == measured, model untouched."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
thop = pytest.importorskip("thop")

from torch import nn  # noqa: E402
from torchvision.models import efficientnet_b0, efficientnet_v2_s  # noqa: E402

from _random_specs import random_spec  # noqa: E402
from nasgen.cost import arch_graph, count_cost, measure_cost  # noqa: E402
from nasgen.cost._thop import MeasuredCost  # noqa: E402
from nasgen.errors import SpecError  # noqa: E402
from nasgen.nn import DropPath, build_model  # noqa: E402
from nasgen.spec import load_spec  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

B0 = MeasuredCost(macs=385_814_752, params=5_288_548)
V2_S = MeasuredCost(macs=8_365_617_152, params=21_458_488)


def _hook_profile(model: nn.Module, image: torch.Tensor) -> dict[str, tuple[tuple[int, ...], int, int]]:
    """Independent of thop: forward hooks on the leaf modules record (output shape, MACs, own params)."""
    records: dict[str, tuple[tuple[int, ...], int, int]] = {}

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor, name: str) -> None:
        per_image = output[0].numel()
        macs = 0
        if isinstance(module, nn.Conv2d):
            macs = per_image * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Linear):
            macs = per_image * module.in_features
        params = sum(p.numel() for p in module.parameters(recurse=False))
        records[name] = (tuple(output.shape[1:]), macs, params)

    skip = (nn.Identity, nn.Dropout, DropPath)
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: hook(m, i, o, name))
        for name, module in model.named_modules()
        if not list(module.children()) and not isinstance(module, skip)
    ]
    try:
        with torch.no_grad():
            model.eval()(image)
    finally:
        for handle in handles:
            handle.remove()
    return records


def test_torchvision_b0() -> None:
    model = efficientnet_b0(weights=None)
    assert measure_cost(model, 224) == B0
    # default thop also counts BatchNorm and pooling: 415.1M, which would fail a 400M budget
    default_macs, _ = thop.profile(model, inputs=(torch.zeros(1, 3, 224, 224),), verbose=False)
    assert round(default_macs) == 415_145_024


def test_torchvision_v2_s() -> None:
    assert measure_cost(efficientnet_v2_s(weights=None), 384) == V2_S


@pytest.mark.parametrize(("name", "expected"), [("efficientnet-b0", B0), ("efficientnetv2-s", V2_S)])
def test_built_reference_models(name: str, expected: MeasuredCost) -> None:
    model = build_model(name)
    measured = measure_cost(model)  # resolution and channels from model.spec
    assert measured == expected
    report = count_cost(model.spec)
    assert (report.macs, report.params) == expected
    assert measured.flops == 2 * expected.macs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("efficientnetv2-m", MeasuredCost(macs=24_582_460_384, params=54_139_356)),
        ("efficientnetv2-l", MeasuredCost(macs=56_079_699_008, params=118_515_272)),
    ],
)
def test_built_large_models(name: str, expected: MeasuredCost) -> None:
    assert measure_cost(build_model(name)) == expected


@pytest.mark.parametrize("seed", range(200))
def test_random_specs_analytic_equals_thop(seed: int) -> None:
    spec = random_spec(seed)
    report = count_cost(spec)
    assert measure_cost(build_model(spec)) == (report.macs, report.params)


@pytest.mark.parametrize("seed", range(0, 200, 10))
def test_random_specs_graph_matches_modules(seed: int) -> None:
    spec = random_spec(seed)
    graph = arch_graph(spec)
    model = build_model(spec)
    image = torch.zeros(1, spec.in_channels, spec.resolution_px, spec.resolution_px)
    records = _hook_profile(model, image)
    for name, (shape, macs, params) in records.items():
        node = graph.nodes[name]
        assert (node["shape"], node["macs"], node["params"]) == (shape, macs, params), name
    functional = {n for n, op in graph.nodes(data="op") if op in ("input", "add", "mul") or n.endswith("se.pool")}
    assert set(graph) - set(records) == functional
    assert sum(m for _, m, _ in records.values()) == graph.graph["macs"] == count_cost(spec).macs


def test_b0_graph_matches_modules_at_64px() -> None:
    spec = load_spec("efficientnet-b0").replace(resolution_px=64)
    records = _hook_profile(build_model(spec), torch.zeros(1, 3, 64, 64))
    graph = arch_graph(spec)
    assert all(graph.nodes[n]["shape"] == shape for n, (shape, _, _) in records.items())
    assert sum(m for _, m, _ in records.values()) == count_cost(spec).macs


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_model_left_untouched() -> None:
    model = build_model(random_spec(3))
    model.train()
    model.stages[0].eval()  # mixed modes must survive too
    modes = [m.training for m in model.modules()]
    before = _state(model)
    hooks = _hook_count(model)
    first = measure_cost(model)
    second = measure_cost(model)
    assert first == second
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats not updated either
    assert [m.training for m in model.modules()] == modes
    assert _hook_count(model) == hooks
    assert not any(hasattr(m, "total_ops") or hasattr(m, "total_params") for m in model.modules())


def test_channels_and_resolution_defaults() -> None:
    spec = random_spec(1)
    model = build_model(spec)
    explicit = measure_cost(model, spec.resolution_px, spec.in_channels)
    assert measure_cost(model) == explicit
    at_64 = measure_cost(model, 64)
    assert at_64.macs == count_cost(spec, resolution_px=64).macs


def test_bad_input() -> None:
    model = build_model(random_spec(0))
    wrong_channels = 4 - model.spec.in_channels  # 3 for a grey model, 1 for RGB
    with pytest.raises(SpecError, match="forward pass"):
        measure_cost(model, in_channels=wrong_channels)
    with pytest.raises(SpecError, match="resolution_px"):
        measure_cost(model, 0)
    with pytest.raises(SpecError, match="no resolution"):
        measure_cost(nn.Sequential(nn.Conv2d(3, 8, 3)))
    with pytest.raises(TypeError, match="nn.Module"):
        measure_cost("efficientnet-b0", 224)  # type: ignore[arg-type]
    # a plain module: conv 8·3·9 MACs per output pixel at 30x30 (no padding) + 8 bias; BN 16; Linear 8->2 + 2 bias
    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    assert measure_cost(plain, 32) == (8 * 3 * 9 * 30 * 30 + 16, 224 + 16 + 18)

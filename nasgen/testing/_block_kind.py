"""``check_block_kind``: a registered block kind builds, costs, exports and scripts as nasgen requires."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.spec import ArchSpec, block_kind, spec_from_dict

__all__ = ["BlockKindCase", "BlockKindReport", "check_block_kind"]


@dataclass(frozen=True)
class BlockKindCase:
    """One checked shape: a one-stage network around two blocks of the kind.

    Attributes:
        stage: The stage's fields (``kind``, ``stride``, ``expand_ratio``, ``se_ratio``, widths …).
        in_channels: Input channels of the stage's first block.
        output_shape: ``(C, H, W)`` of the first block's output at the case's resolution, batch 1.
        block_params: Parameters of the first block, counted on the built module.
        analytic_macs: MACs of the whole network by :func:`nasgen.cost.count_cost` (the kind's cost rule).
        measured_macs: The same network measured with thop (:func:`nasgen.cost.measure_cost`).
        analytic_params: Params of the network by ``count_cost``.
        measured_params: Params of the built network.
        code: Whether ``model.py`` was generated and matched ``build_model`` (``False``: the kind has no
            ``source``, so nasgen exports it without ``model.py``).
    """

    stage: dict[str, Any]
    in_channels: int
    output_shape: tuple[int, int, int]
    block_params: int
    analytic_macs: int
    measured_macs: int
    analytic_params: int
    measured_params: int
    code: bool


@dataclass(frozen=True)
class BlockKindReport:
    """What :func:`check_block_kind` checked: the kind and one :class:`BlockKindCase` per shape."""

    kind: str
    cases: tuple[BlockKindCase, ...]


def _case_specs(kind: str, options: dict[str, Any] | None, expand_ratios: tuple[int, ...],
                se_ratios: tuple[float, ...], resolution_px: int) -> list[ArchSpec]:
    specs = []
    for expand_ratio in expand_ratios:
        for se_ratio in se_ratios:
            for stride, kernel_size, out_channels in ((1, 3, 16), (2, 5, 24)):
                stage = {"kind": kind, "num_layers": 2, "kernel_size": kernel_size, "stride": stride,
                         "expand_ratio": expand_ratio, "out_channels": out_channels, "se_ratio": se_ratio}
                if options is not None:
                    stage["options"] = options
                specs.append(spec_from_dict({
                    "name": f"check-{kind}", "resolution_px": resolution_px, "num_classes": 10,
                    "stem": {"out_channels": 16, "kernel_size": 3, "stride": 2},
                    "stages": [stage], "head_channels": 32, "drop_path_rate": 0.1, "dropout": 0.0,
                }))
    return specs


def _check_block(spec: ArchSpec, torch: Any) -> tuple[tuple[int, int, int], int]:
    stage = spec.stages[0]
    builder = block_kind(stage.kind).resolved_builder()
    if builder is None:
        raise AssertionError(f"block kind {stage.kind!r} has no builder")
    block = builder(stage, in_channels=spec.stem.out_channels, stride=stage.stride, drop_path_rate=0.0,
                    activation=spec.activation, bn_eps=spec.bn_eps, bn_momentum=spec.bn_momentum).eval()
    size = math.ceil(spec.resolution_px / spec.stem.stride)
    with torch.no_grad():
        out = block(torch.randn(2, spec.stem.out_channels, size, size, generator=torch.Generator().manual_seed(0)))
    expected = (2, stage.out_channels, math.ceil(size / stage.stride), math.ceil(size / stage.stride))
    if tuple(out.shape) != expected:
        raise AssertionError(f"{stage.kind}: block output {tuple(out.shape)}, expected {expected}")
    return expected[1:], sum(p.numel() for p in block.parameters())


def _check_code(spec: ArchSpec, model: Any, x: Any, expected: Any, folder: Path, torch: Any) -> bool:
    from nasgen.exporting import import_model_code, render_model_code
    from nasgen.exporting import code_unsupported

    if code_unsupported(spec) is not None:
        return False
    path = folder / f"model_{spec.short_hash()}.py"
    path.write_text(render_model_code(spec), encoding="utf-8")
    generated = import_model_code(path).build()
    if list(generated.state_dict()) != list(model.state_dict()):
        raise AssertionError(f"{spec.stages[0].kind}: model.py state-dict keys differ from build_model's")
    generated.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(generated.eval()(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(torch.jit.script(generated)(x), expected, atol=1e-5, rtol=0)
    return True


def check_block_kind(
    kind: str,
    *,
    options: dict[str, Any] | None = None,
    expand_ratios: tuple[int, ...] = (1,),
    se_ratios: tuple[float, ...] = (0.0, 0.25),
    resolution_px: int = 32,
) -> BlockKindReport:
    """Check a registered block kind at a few shapes; raise ``AssertionError`` naming the first failure.

    For each ``expand_ratio`` × ``se_ratio`` and two geometries (stride 1, k3, 16 → 16 channels, a residual;
    stride 2, k5, 16 → 24), a network ``stem (16, s2) → 2 blocks of the kind → head (32)`` at
    ``resolution_px`` is built and checked: the first block maps ``(N, C_in, H, W)`` to
    ``(N, C_out, ceil(H / s), ceil(W / s))``; ``count_cost`` (the kind's cost rule) equals the thop
    measurement in MACs and params; the generated ``model.py`` (when the kind gives ``source``) has the same
    state-dict keys and eval outputs as ``build_model`` and scripts with TorchScript; ``build_model`` scripts
    with TorchScript and matches in eval mode.

    Args:
        kind: A registered block kind (built in, or a plugin's).
        options: The stage ``options`` for a plugin kind with an options model.
        expand_ratios: Expansion ratios to try (1 for kinds without expansion).
        se_ratios: SE ratios to try.
        resolution_px: Input resolution of the test networks in px.

    Returns:
        A :class:`BlockKindReport` with the measured numbers of every case.

    Raises:
        AssertionError: A check failed (the message names the kind and what differs).
        SpecError: The stage fields are invalid for the kind.
    """
    import torch

    from nasgen.cost import count_cost, measure_cost
    from nasgen.nn import build_model

    cases = []
    with tempfile.TemporaryDirectory(prefix="nasgen-check-") as folder:
        for spec in _case_specs(kind, options, expand_ratios, se_ratios, resolution_px):
            output_shape, block_params = _check_block(spec, torch)
            analytic, measured = count_cost(spec), measure_cost(build_model(spec))
            model = build_model(spec).eval()
            if (analytic.macs, analytic.params) != (measured.macs, measured.params):
                raise AssertionError(f"{kind}: cost rule gives {analytic.macs} MACs / {analytic.params} params, "
                                     f"thop measures {measured.macs} / {measured.params} ({spec.display()[0]})")
            if analytic.stages[0].output_shape != (spec.stages[0].out_channels, *output_shape[1:]):
                raise AssertionError(f"{kind}: cost rule output {analytic.stages[0].output_shape}, "
                                     f"block output {output_shape}")
            x = torch.randn(2, spec.in_channels, resolution_px, resolution_px,
                            generator=torch.Generator().manual_seed(1))
            with torch.no_grad():
                expected = model(x)
                torch.testing.assert_close(torch.jit.script(model)(x), expected, atol=1e-5, rtol=0)
            code = _check_code(spec, model, x, expected, Path(folder), torch)
            cases.append(BlockKindCase(spec.stages[0].model_dump(mode="json"), spec.stem.out_channels, output_shape,
                                       block_params, analytic.macs, measured.macs, analytic.params,
                                       measured.params, code))
    return BlockKindReport(kind, tuple(cases))

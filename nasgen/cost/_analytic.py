"""The analytic cost counter: params, MACs and activation memory of a spec, without torch.

The convention (docs/design.md, "The cost convention"): MACs are the multiply-accumulates of Conv2d and
Linear layers only, at batch 1 (conv: C_out·C_in/groups·k_h·k_w·H_out·W_out; linear: in·out) — what
the EfficientNet papers call "FLOPS" (B0: 0.39B). BatchNorm, activations, the SE multiply, pooling and
residual adds cost nothing. Params are all trainable parameters, BN affine and biases included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasgen.cost._rules import PartTotals, as_spec, trace_spec
from nasgen.errors import SpecError

__all__ = ["CostReport", "PartCost", "StageCost", "count_cost"]


@dataclass(frozen=True)
class PartCost:
    """Cost of the stem or the head.

    Attributes:
        params: Trainable parameters.
        macs: Multiply-accumulates (Conv2d and Linear, batch 1).
        activation_bytes: Activation memory of its layers (see :func:`count_cost`).
        output_shape: Output shape ``(C, H, W)``; the head's is ``(num_classes,)``.
    """

    params: int
    macs: int
    activation_bytes: int
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class StageCost:
    """Cost of one stage (all its blocks).

    Attributes:
        index: Position in ``spec.stages``.
        kind: The stage's ``kind`` tag.
        display: timm one-line notation, ``stage.display()`` (``ir_r2_k3_s2_e6_c24_se0.25``).
        params: Trainable parameters.
        macs: Multiply-accumulates (Conv2d and Linear, batch 1).
        activation_bytes: Activation memory of its layers (see :func:`count_cost`).
        output_shape: Output shape ``(C, H, W)`` of its last block.
    """

    index: int
    kind: str
    display: str
    params: int
    macs: int
    activation_bytes: int
    output_shape: tuple[int, int, int]


@dataclass(frozen=True)
class CostReport:
    """Analytic cost of an architecture at one input resolution.

    Attributes:
        params: Trainable parameters (BN affine and biases included).
        macs: Multiply-accumulates of Conv2d and Linear layers at batch 1.
        activation_bytes: Bytes of all activations of one forward pass at ``batch_size`` (see
            :func:`count_cost`).
        resolution_px: Input resolution in px (square).
        batch_size: Batch size ``activation_bytes`` is counted for (MACs and params are batch 1).
        dtype_bytes: Bytes per activation element.
        stem: The stem conv-BN-activation.
        stages: One entry per stage.
        head: The 1×1 head conv-BN-activation, pooling and classifier.
    """

    params: int
    macs: int
    activation_bytes: int
    resolution_px: int
    batch_size: int
    dtype_bytes: int
    stem: PartCost
    stages: tuple[StageCost, ...]
    head: PartCost

    @property
    def flops(self) -> int:
        """FLOPs defined as 2 · MACs (one multiply and one add per MAC); shown only labelled as such."""
        return 2 * self.macs


def _check_count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"must be a positive integer, got {value!r}", path=path, value=value)
    return value


def _part(totals: PartTotals, scale: int) -> PartCost:
    return PartCost(totals.params, totals.macs, totals.elements * scale, totals.output_shape)


def count_cost(spec: Any, *, resolution_px: int | None = None, batch_size: int = 1, dtype_bytes: int = 4) -> CostReport:
    """Count params, MACs and activation memory of an architecture analytically (no torch).

    Activation memory is the size of every tensor one forward pass (inference graph, batch
    ``batch_size``) produces: the output of each conv, BatchNorm, activation, SE pooling / 1×1 conv /
    gate / multiply, residual add, the final pooling and the classifier — the nodes of
    :func:`~nasgen.cost.arch_graph` other than the input — times ``batch_size · dtype_bytes``. The input
    image is not included; dropout and stochastic depth are identity at inference and add nothing; no
    in-place reuse or freeing is assumed, so this is the memory autograd would keep for the backward pass
    with out-of-place activations, an upper bound on the peak of an inference pass.

    Args:
        spec: An :class:`~nasgen.spec.ArchSpec`, a built-in name or a YAML/JSON path.
        resolution_px: Input resolution in px; defaults to ``spec.resolution_px``.
        batch_size: Batch size for ``activation_bytes`` (MACs and params are always batch 1).
        dtype_bytes: Bytes per activation element (4 for float32, 2 for float16).

    Returns:
        The totals and per-part costs; ``stem + stages + head`` add up to the totals.

    Raises:
        SpecError: Invalid spec or file, non-positive ``resolution_px`` / ``batch_size`` /
            ``dtype_bytes``, or a resolution below the network's total stride.
        PluginError: A stage kind without a registered cost rule.

    Example:
        >>> from nasgen.spec import load_spec
        >>> report = count_cost(load_spec("efficientnet-b0"))
        >>> report.params, report.macs
        (5288548, 385814752)
    """
    spec = as_spec(spec)
    scale = _check_count(batch_size, "batch_size") * _check_count(dtype_bytes, "dtype_bytes")
    trace = trace_spec(spec, resolution_px, keep_layers=False)
    stem, head = _part(trace.stem, scale), _part(trace.head, scale)
    stages = tuple(
        StageCost(index, stage.kind, stage.display(), t.params, t.macs, t.elements * scale, t.output_shape)
        for index, (stage, t) in enumerate(zip(spec.stages, trace.stages))
    )
    parts = (stem, *stages, head)
    return CostReport(
        params=sum(p.params for p in parts),
        macs=sum(p.macs for p in parts),
        activation_bytes=sum(p.activation_bytes for p in parts),
        resolution_px=trace.resolution_px,
        batch_size=batch_size,
        dtype_bytes=dtype_bytes,
        stem=stem,
        stages=stages,
        head=head,
    )

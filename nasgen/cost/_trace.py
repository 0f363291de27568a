"""The layer trace: a torch-free record of every operation one forward pass of a spec performs.

Cost rules describe a block as calls on a :class:`LayerTrace` (conv, BN, activation, SE, residual
add); the trace derives each output shape and counts MACs and params under the cost convention of
docs/design.md. The analytic counter sums the trace, the graph view turns it into nodes and edges, so both
always agree.
"""

from __future__ import annotations

from math import prod
from typing import Any, NamedTuple

from nasgen.errors import SpecError

__all__ = ["INPUT", "Layer", "LayerTrace", "conv_output_size"]

INPUT = "input"
"""Name of the trace's first tensor, the input image ``(C, H, W)``."""


class Layer(NamedTuple):
    """One operation of the forward pass (batch dimension left out).

    Attributes:
        name: Unique dotted name; for convs, BNs and the classifier it is the module's state-dict
            prefix in :func:`nasgen.nn.build_model` (``stages.1.0.conv_dw``).
        op: ``conv2d``, ``batchnorm2d``, ``act``, ``global_avg_pool``, ``mul``, ``add`` or ``linear``.
        inputs: Names of the tensors it reads; the first is the main input.
        shape: Output shape, ``(C, H, W)`` or ``(features,)`` for the classifier.
        macs: Multiply-accumulates (Conv2d and Linear only, batch 1).
        params: Trainable parameters (weights, biases, BN affine).
        attrs: Op details as ``(key, value)`` pairs, e.g. kernel size, stride, groups, activation.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    macs: int
    params: int
    attrs: tuple[tuple[str, Any], ...] = ()


def conv_output_size(size: int, kernel_size: int, stride: int) -> int:
    """Output size of a conv padded by ``kernel_size // 2``, in PyTorch's formula.

    For odd kernels this is ``ceil(size / stride)``, so a map only halves and never vanishes; TensorFlow's
    SAME padding (``padding: same``) gives ``ceil(size / stride)`` by definition, so the count is the same.
    """
    pad = kernel_size // 2
    return (size + 2 * pad - kernel_size) // stride + 1


class LayerTrace:
    """Records layers while a cost rule walks one block; names are prefixed with :attr:`prefix`.

    Tensors are referred to by integer handles (``0`` is the input image); an op reads
    :attr:`current` and makes its output the new :attr:`current`. Running totals are always kept;
    :class:`Layer` records (with names) only when ``keep_layers`` is true, which the analytic counter
    skips because the search calls it once per trial.

    Args:
        in_shape: Input image shape ``(C, H, W)``.
        activation: Default activation (the spec's), used where a rule passes none.
        keep_layers: Record a :class:`Layer` per op (for the graph view).
        padding: The spec's conv padding (``"symmetric"`` / ``"same"``): the same sizes and counts either way,
            recorded on the stride-2 convs where TF's SAME pads asymmetrically (so the graph tells them apart).
        se_rounding: The spec's SE width rule, which the cost rules pass to :func:`~nasgen.spec.se_channels`.

    Attributes:
        layers: The recorded layers in forward order, or ``None`` when not kept.
        prefix: Prepended to every name, e.g. ``"stages.2.0."``; the driver sets it per block.
        current: Handle of the tensor the next op reads.
        shape: Shape of :attr:`current`.
        params: Running total of params.
        macs: Running total of MACs.
        elements: Running total of output elements (batch 1), for activation memory.
    """

    __slots__ = ("layers", "prefix", "current", "shape", "activation", "padding", "se_rounding", "params", "macs",
                 "elements", "_shapes", "_names", "_taken")

    def __init__(self, in_shape: tuple[int, int, int], activation: str = "silu", *, keep_layers: bool = True,
                 padding: str = "symmetric", se_rounding: str = "floor") -> None:  # fmt: skip
        self.layers: list[Layer] | None = [] if keep_layers else None
        self.prefix = ""
        self.current = 0
        self.shape: tuple[int, ...] = tuple(in_shape)
        self.activation = activation
        self.padding = padding
        self.se_rounding = se_rounding
        self.params = self.macs = self.elements = 0
        self._shapes: list[tuple[int, ...]] = [self.shape]
        self._names: list[str] = [INPUT]
        self._taken = {INPUT}

    def _emit(self, name: str, op: str, inputs: tuple[int, ...], shape: tuple[int, ...], macs: int, params: int,
              attrs: tuple[tuple[str, Any], ...] = ()) -> int:
        self.params += params
        self.macs += macs
        self.elements += prod(shape)
        handle = len(self._shapes)
        self._shapes.append(shape)
        if self.layers is not None:
            full = self.prefix + name
            if full in self._taken:
                raise SpecError(f"layer name {full!r} is used twice in one architecture", path=full, value=full)
            names = self._names
            self.layers.append(Layer(full, op, tuple(names[i] for i in inputs), shape, macs, params, attrs))
            names.append(full)
            self._taken.add(full)
        self.current = handle
        self.shape = shape
        return handle

    def replay(self, params: int, macs: int, elements: int, shape: tuple[int, ...]) -> int:
        """Add a span of layers counted before (totals and output shape) without recording layers.

        Raises:
            ValueError: The trace keeps layers, which a replay cannot reproduce.
        """
        if self.layers is not None:
            raise ValueError("replay is for counting-only traces (keep_layers=False)")
        self.params += params
        self.macs += macs
        self.elements += elements
        self.current = len(self._shapes)
        self._shapes.append(shape)
        self.shape = shape
        return self.current

    def shape_of(self, tensor: int) -> tuple[int, ...]:
        """Shape of the tensor with handle ``tensor``."""
        return self._shapes[tensor]

    def conv(self, name: str, out_channels: int, kernel_size: int, stride: int = 1, *, groups: int = 1,
             bias: bool = False) -> int:
        """A Conv2d padded by ``kernel_size // 2`` (or TF's SAME, the same output size for odd k):
        MACs = C_out·C_in/groups·k²·H_out·W_out.

        Raises:
            SpecError: The channels are not divisible by ``groups``.
        """
        c_in, height, width = self.shape
        if c_in % groups or out_channels % groups:
            raise SpecError(
                f"conv channels {c_in}->{out_channels} are not divisible by groups={groups}",
                path=self.prefix + name, value=groups,
            )
        h_out = conv_output_size(height, kernel_size, stride)
        w_out = conv_output_size(width, kernel_size, stride)
        weights = out_channels * (c_in // groups) * kernel_size * kernel_size
        attrs: tuple[tuple[str, Any], ...] = () if self.layers is None else (
            ("in_channels", c_in), ("kernel_size", kernel_size), ("stride", stride), ("groups", groups), ("bias", bias)
        )
        if attrs and self.padding == "same" and stride == 2 and kernel_size >= 3:
            attrs += (("padding", "same"),)  # TF's SAME shifts the windows here; sizes and MACs are unchanged
        return self._emit(name, "conv2d", (self.current,), (out_channels, h_out, w_out), weights * h_out * w_out,
                          weights + (out_channels if bias else 0), attrs)

    def bn(self, name: str) -> int:
        """A BatchNorm2d: no MACs (convention), 2·C affine params."""
        return self._emit(name, "batchnorm2d", (self.current,), self.shape, 0, 2 * self.shape[0])

    def act(self, name: str, fn: str | None = None) -> int:
        """An elementwise activation (``fn`` defaults to the spec's): no MACs, no params."""
        return self._emit(name, "act", (self.current,), self.shape, 0, 0, (("fn", fn or self.activation),))

    def pool(self, name: str) -> int:
        """Global average pooling ``(C, H, W) → (C, 1, 1)``: no MACs (convention)."""
        return self._emit(name, "global_avg_pool", (self.current,), (self.shape[0], 1, 1), 0, 0)

    def se(self, name: str, squeeze_channels: int) -> int:
        """Squeeze-and-excitation (Hu et al., 2018, §3): pool → 1×1 conv (bias) → act → 1×1 conv (bias)
        → sigmoid → channel-wise multiply. Both 1×1 convs count MACs at 1×1 spatial; the multiply does not.
        """
        block_in, channels = self.current, self.shape[0]
        self.pool(f"{name}.pool")
        self.conv(f"{name}.conv_reduce", squeeze_channels, 1, bias=True)
        self.act(f"{name}.act")
        self.conv(f"{name}.conv_expand", channels, 1, bias=True)
        gate = self.act(f"{name}.gate", "sigmoid")
        return self._emit(f"{name}.mul", "mul", (block_in, gate), self._shapes[block_in], 0, 0)

    def add(self, name: str, skip: int) -> int:
        """Residual add of :attr:`current` and the tensor ``skip``: no MACs (convention).

        Raises:
            SpecError: The two shapes differ.
        """
        skip_shape = self._shapes[skip]
        if skip_shape != self.shape:
            raise SpecError(
                f"residual add of shapes {self.shape} and {skip_shape} that differ",
                path=self.prefix + name, value=(self.shape, skip_shape),
            )
        return self._emit(name, "add", (self.current, skip), self.shape, 0, 0)

    def linear(self, name: str, out_features: int) -> int:
        """A Linear with bias on the flattened input: MACs = in·out, params = in·out + out."""
        in_features = prod(self.shape)
        return self._emit(name, "linear", (self.current,), (out_features,), in_features * out_features,
                          in_features * out_features + out_features, (("in_features", in_features),))

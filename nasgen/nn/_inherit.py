"""Inheriting weights: a sub-architecture's state dict cut out of a larger architecture's (OFA §3.2 slicing).

:func:`check_sub_architecture` says whether one architecture's weights hold another's (by field path);
:func:`inherit_state_dict` cuts them, block by block, with each kind's :class:`~nasgen.nn.SlicingRule`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from nasgen.errors import SpecError
from nasgen.nn._slicing import SlicingRule, slicing_rule
from nasgen.spec import ArchSpec, load_spec

__all__ = ["check_sub_architecture", "empty_model", "inherit_state_dict", "no_init", "target_shapes"]


def _as_spec(spec: ArchSpec | str | Path) -> ArchSpec:
    if not isinstance(spec, (ArchSpec, str, Path)):
        raise SpecError(f"expected an ArchSpec, a built-in name or a path, got {type(spec).__name__}", value=spec)
    return load_spec(spec)


def _stage_map(src: ArchSpec, dst: ArchSpec, stage_map: Sequence[int] | None) -> tuple[int, ...]:
    if stage_map is None:
        if len(src.stages) != len(dst.stages):
            raise SpecError(
                f"the architecture has {len(dst.stages)} stages and the source {len(src.stages)}; pass stage_map "
                "(the source stage each stage inherits from)", path="stages", value=len(dst.stages),
            )  # fmt: skip
        return tuple(range(len(dst.stages)))
    mapped = tuple(stage_map)
    ok = len(mapped) == len(dst.stages) and all(
        type(m) is int and 0 <= m < len(src.stages) for m in mapped
    ) and all(a < b for a, b in zip(mapped, mapped[1:]))
    if not ok:
        raise SpecError(f"stage_map must give {len(dst.stages)} increasing source stage indices below "
                        f"{len(src.stages)}, got {list(mapped)}", path="stages", value=list(mapped))  # fmt: skip
    return mapped


def _larger(path: str, dst_value: Any, src_value: Any) -> None:
    if dst_value > src_value:
        raise SpecError(f"{dst_value} > {src_value} in the source", path=path, value=dst_value)


def _check_stage(path: str, src: Any, dst: Any) -> None:
    if dst.kind != src.kind:
        raise SpecError(f"kind {dst.kind!r} differs from {src.kind!r} in the source", path=f"{path}.kind",
                        value=dst.kind)  # fmt: skip
    rule = slicing_rule(dst.kind, path=f"{path}.kind")
    if rule.variant_of(dst) != rule.variant_of(src):
        raise SpecError(
            f"{dst.expand_ratio} builds another {dst.kind} block than {src.expand_ratio} in the source (its slicing "
            "rule shares no weights between them)", path=f"{path}.expand_ratio", value=dst.expand_ratio,
        )  # fmt: skip
    for field in ("num_layers", "kernel_size", "expand_ratio", "out_channels"):
        _larger(f"{path}.{field}", getattr(dst, field), getattr(src, field))
    if dst.se_ratio > 0 and src.se_ratio == 0:
        raise SpecError(f"{dst.se_ratio} but the source has no SE", path=f"{path}.se_ratio", value=dst.se_ratio)
    _larger(f"{path}.se_ratio", dst.se_ratio, src.se_ratio)
    if getattr(dst, "options", {}) != getattr(src, "options", {}):
        raise SpecError(f"{dst.options} differ from {src.options} in the source", path=f"{path}.options",
                        value=dst.options)  # fmt: skip


def check_sub_architecture(src_spec: ArchSpec, dst_spec: ArchSpec, stage_map: Sequence[int] | None = None) -> None:
    """Raise unless ``dst_spec`` is a sub-architecture of ``src_spec``: weights of the one hold the other's.

    Per stage (``dst`` stage ``j`` against source stage ``stage_map[j]``): the same kind and variant, at most
    as many layers, a kernel, expansion, width and SE ratio no larger, SE only where the source has it, the same
    plugin options; stem width and kernel and head width no larger; the same input channels. Strides,
    resolution, activation and the regularization rates are free (no weight depends on them). A tensor the
    source still cannot hold (Fused-MBConv's single conv at expansion 1 wider than the source's hidden width) is
    refused by :func:`inherit_state_dict`, naming it.

    Raises:
        SpecError: The first field that does not fit, by its path in ``dst_spec``
            (``stages.3.kernel_size: 7 > 5 in the source``).
    """
    mapped = _stage_map(src_spec, dst_spec, stage_map)
    if dst_spec.in_channels != src_spec.in_channels:
        raise SpecError(f"{dst_spec.in_channels} differs from {src_spec.in_channels} in the source",
                        path="in_channels", value=dst_spec.in_channels)  # fmt: skip
    _larger("stem.out_channels", dst_spec.stem.out_channels, src_spec.stem.out_channels)
    _larger("stem.kernel_size", dst_spec.stem.kernel_size, src_spec.stem.kernel_size)
    for j, m in enumerate(mapped):
        _check_stage(f"stages.{j}", src_spec.stages[m], dst_spec.stages[j])
    _larger("head_channels", dst_spec.head_channels, src_spec.head_channels)


class _SkipInit(TorchFunctionMode):
    """Makes ``torch.nn.init`` functions and in-place random fills no-ops (they return their tensor)."""

    _SKIPPED = frozenset(
        [getattr(nn.init, name) for name in dir(nn.init) if name.endswith("_") and not name.startswith("_")]
        + [Tensor.normal_, Tensor.uniform_, Tensor.zero_, Tensor.fill_]
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self._SKIPPED:
            return args[0] if args else next(iter((kwargs or {}).values()))
        return func(*args, **(kwargs or {}))


@contextmanager
def no_init() -> Iterator[None]:
    """Modules built inside draw no initial weights (their tensors are left unset): for shells that a state dict
    is assigned to. On the meta device that saves most of the build time (random fills there are slow)."""
    with _SkipInit():
        yield


def empty_model(spec: ArchSpec) -> nn.Module:
    """``build_model(spec)``'s network on the meta device with no weights drawn: a shell to
    ``load_state_dict(state, assign=True)`` into, or to read names and shapes from."""
    from nasgen.nn._model import EfficientNet

    with torch.device("meta"), no_init():
        return EfficientNet(spec)


def target_shapes(spec: ArchSpec) -> dict[str, torch.Size]:
    """Every state-dict tensor's shape of ``build_model(spec)`` (from :func:`empty_model`: no memory used)."""
    return {name: tensor.shape for name, tensor in empty_model(spec).state_dict().items()}


def _source_name(name: str, mapped: Sequence[int]) -> tuple[str, int | None, str]:
    """``(source name, destination stage or None, the name within its block)`` of destination tensor ``name``."""
    parts = name.split(".")
    if parts[0] != "stages":
        return name, None, name
    j = int(parts[1])
    return ".".join(["stages", str(mapped[j]), *parts[2:]]), j, ".".join(parts[3:])


def inherit_state_dict(
    src_spec: ArchSpec | str | Path,
    src_state: Mapping[str, Tensor],
    dst_spec: ArchSpec | str | Path,
    *,
    stage_map: Sequence[int] | None = None,
    copy: bool = True,
) -> dict[str, Tensor]:
    """The state dict of ``dst_spec`` cut out of ``src_spec``'s weights (OFA §3.2 slicing).

    Per stage the first blocks (elastic depth), per block the first channels (elastic expansion and width; call
    :func:`sort_channels` on a model trained alone first, so they are its important ones), the centre of each
    kernel (elastic kernel), SE sliced or left out, BatchNorm weights and statistics sliced alike; stem and head
    alike; the classifier when both have the same ``num_classes`` (sliced to the head width), else left out
    (the caller keeps its own initialization: ``load_state_dict(state, strict=False)`` then misses exactly
    ``classifier.weight`` and ``classifier.bias``).

    Args:
        src_spec: The larger architecture (an :class:`~nasgen.spec.ArchSpec`, a built-in name or a path).
        src_state: Its state dict (``build_model(src_spec).state_dict()`` names); read only.
        dst_spec: The architecture to fill (``build_model(dst_spec)`` names and shapes).
        stage_map: For each stage of ``dst_spec`` the source stage it inherits from (increasing); ``None`` =
            stage ``j`` from stage ``j`` (both must then have as many stages).
        copy: ``False``: views of ``src_state``'s tensors instead of copies (what a supernet shares; gradients
            flow back into the source).

    Returns:
        ``{name: tensor}`` in ``build_model`` order: new contiguous tensors (the source is not shared), or views.

    Raises:
        SpecError: ``dst_spec`` is not a sub-architecture of ``src_spec`` (:func:`check_sub_architecture`, the
            field path named), a kind without a slicing rule, or ``src_state`` lacks or cannot hold a tensor
            (its name as the path).

    Example:
        >>> from nasgen.nn import build_model, inherit_state_dict, sort_channels
        >>> big = sort_channels(build_model("efficientnet-b0"))
        >>> small = big.spec.replace(head_channels=960)
        >>> state = inherit_state_dict(big.spec, big.state_dict(), small)
        >>> tuple(state["head.conv.weight"].shape)
        (960, 320, 1, 1)
    """
    src, dst = _as_spec(src_spec), _as_spec(dst_spec)
    mapped = _stage_map(src, dst, stage_map)
    check_sub_architecture(src, dst, mapped)
    plain = SlicingRule()
    rules = [slicing_rule(stage.kind, path=f"stages.{j}.kind") for j, stage in enumerate(dst.stages)]
    out: dict[str, Tensor] = {}
    for name, shape in target_shapes(dst).items():
        if name.startswith("classifier.") and dst.num_classes != src.num_classes:
            continue
        source_name, j, inner = _source_name(name, mapped)
        if source_name not in src_state:
            raise SpecError("the source state dict has no such tensor", path=source_name)
        rule = plain if j is None else rules[j]
        try:
            view = rule.cut(inner, src_state[source_name], shape)
        except SpecError as exc:
            raise SpecError(exc.message, path=name, value=exc.value) from None
        out[name] = view.detach().clone(memory_format=torch.contiguous_format) if copy else view
    return out

"""The supernet derived from a search space: one weight-sharing network holding every architecture of the space.

Derivation (nothing is written per space): each stage of the space gets one *branch* per block kind among its
``kind`` choices and per weight-sharing variant of that kind (:meth:`nasgen.nn.SlicingRule.variant_of`: MBConv
with expansion 1 builds another block than with 4 or 6), so weights are never shared across kinds (NNI's
``LayerChoice``). A branch holds the stage's largest blocks, built by the kind's own builder: the most layers,
the largest kernel, expansion, width and SE ratio, the first block as wide as the widest stage that can precede
it (an optional stage removed passes its input on). The stem and head are likewise the largest of the space.

A subnet (an :class:`~nasgen.spec.ArchSpec` of the space) runs on views of those weights (Once-for-All, Cai et
al., 2020, §3.2; BigNAS, Yu et al., 2020, §3.1): the first blocks of each branch (elastic depth, an optional
stage removed), the first channels (elastic expansion and width), the centre of each kernel (elastic kernel), SE
sliced or skipped, at any input size (elastic resolution). Each block is run by the module its kind builds for
the subnet's own geometry (a cached template on the meta device, called with the views through
``torch.func.functional_call``), so residuals, strides and SE follow the same code as
:func:`~nasgen.nn.build_model`; :meth:`Supernet.extract` cuts the same views out with
:func:`nasgen.nn.inherit_state_dict` into an ordinary model.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from nasgen.errors import SpecError
from nasgen.nn import (
    ConvBnAct,
    EfficientNet,
    SlicingRule,
    block_registry,
    empty_model,
    inherit_state_dict,
    init_weights,
    no_init,
    slice_block,
    sort_block_channels,
)
from nasgen.space import SearchSpace
from nasgen.supernet._layout import Branch, branches, input_widths, largest
from nasgen.spec import ArchSpec, spec_from_dict

__all__ = ["Branch", "Supernet"]

_PLAIN = SlicingRule()
_CACHE_SIZE = 4096
_BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass
class _Step:
    """One module of a subnet's forward pass: the template that computes it and the weights it is cut from."""

    template: nn.Module
    shapes: dict[str, torch.Size]
    storage: nn.Module
    rule: SlicingRule
    where: str


@dataclass
class _Plan:
    spec: ArchSpec
    steps: list[_Step]
    head_channels: int
    present: list[int]
    branches: list[Branch]


class Supernet(nn.Module):
    """A weight-sharing network of every architecture of a :class:`~nasgen.space.SearchSpace` (module docstring).

    State-dict names: ``stem.conv``, ``stem.bn``, ``stages.{i}.{branch}.{block}.*`` (``i`` the space's stage
    index, ``branch`` the kind or ``kind-variant``, the block's own names after it), ``head.conv``, ``head.bn``,
    ``classifier``.

    Args:
        space: The search space.
        num_classes: Classifier outputs (default the space's).
        in_channels: Input image channels (default the space's).

    Raises:
        SpecError: A stage's kind has no slicing rule (path ``stages.{i}.kind``), or a block cannot be built.

    Example:
        >>> import torch
        >>> from nasgen.space import load_space
        >>> from nasgen.supernet import Supernet
        >>> supernet = Supernet(load_space("examples/small_space.yaml")).eval()
        >>> spec = supernet.smallest()
        >>> with supernet.active(spec):
        ...     logits = supernet(torch.zeros(2, 1, 32, 32))
        >>> torch.allclose(logits, supernet.extract(spec).eval()(torch.zeros(2, 1, 32, 32)), atol=1e-5)
        True
    """

    def __init__(self, space: SearchSpace, *, num_classes: int | None = None, in_channels: int | None = None) -> None:
        super().__init__()
        self.space = space
        self.num_classes = space.num_classes if num_classes is None else num_classes
        self.in_channels = space.in_channels if in_channels is None else in_channels
        widths = input_widths(space)
        self.layout = [branches(space, i, widths[i]) for i in range(len(space.stages))]
        activation = space.activation.values()[0]
        stem = space.stem
        self.stem = ConvBnAct(self.in_channels, largest(stem.out_channels), largest(stem.kernel_size), 1,
                              activation=activation)  # fmt: skip
        self.stages = nn.ModuleList(
            nn.ModuleDict({b.key: self._blocks(b, activation) for b in dict.fromkeys(found.values())})
            for found in self.layout
        )
        self.head = ConvBnAct(widths[-1], largest(space.head_channels), 1, activation=activation)
        self.classifier = nn.Linear(largest(space.head_channels), self.num_classes)
        init_weights(self)
        self._plans: OrderedDict[str, _Plan] = OrderedDict()
        self._templates: dict[tuple[Any, ...], tuple[nn.Module, dict[str, torch.Size]]] = {}
        self._sources: dict[int, dict[str, Tensor]] = {}
        self._active: _Plan | None = None
        self._statistics: Mapping[str, Tensor] | None = None
        self._extremes: tuple[ArchSpec, ArchSpec] | None = None
        self.dropout_rate: float | None = None

    @staticmethod
    def _blocks(branch: Branch, activation: str) -> nn.Sequential:
        builder = block_registry[branch.kind]
        blocks = []
        for b in range(branch.stage.num_layers):
            blocks.append(builder(branch.stage, in_channels=branch.in_channels if b == 0 else branch.stage.out_channels,
                                  stride=1, drop_path_rate=0.0, activation=activation, bn_eps=1e-5,
                                  bn_momentum=0.1))  # fmt: skip
        return nn.Sequential(*blocks)

    # -- the space's architectures ------------------------------------------------------------------
    def _freeze_kwargs(self) -> dict[str, int]:
        return {"num_classes": self.num_classes, "in_channels": self.in_channels}

    def smallest(self) -> ArchSpec:
        """The space's architecture with the fewest MACs (:meth:`~nasgen.space.SearchSpace.macs_extremes`)."""
        return self._macs_extremes()[0]

    def largest(self) -> ArchSpec:
        """The space's architecture with the most MACs (the teacher of in-place distillation)."""
        return self._macs_extremes()[1]

    def _macs_extremes(self) -> tuple[ArchSpec, ArchSpec]:
        if self._extremes is None:
            self._extremes = self.space.macs_extremes(**self._freeze_kwargs())
        return self._extremes

    def sample(self, rng: random.Random) -> ArchSpec:
        """A random architecture of the space, drawn as :meth:`~nasgen.space.SearchSpace.sample_params` does."""
        return self.space.freeze(self.space.sample_params(rng), **self._freeze_kwargs())

    # -- choosing the subnet ------------------------------------------------------------------------
    def set_active(self, spec: ArchSpec) -> None:
        """Make ``spec`` the subnet that :meth:`forward` runs.

        Raises:
            SpecError: ``spec`` is not in the space (the first field that does not fit), or has other
                ``num_classes`` / ``in_channels`` than the supernet.
        """
        self._active = self._plan(spec)

    @contextmanager
    def active(self, spec: ArchSpec) -> Iterator[Supernet]:
        """``with supernet.active(spec): supernet(x)`` runs ``spec``; the previous subnet is restored after."""
        previous = self._active
        self.set_active(spec)
        try:
            yield self
        finally:
            self._active = previous

    def _plan(self, spec: ArchSpec) -> _Plan:
        key = spec.content_hash()
        plan = self._plans.get(key)
        if plan is None:
            plan = self._make_plan(spec)
            if len(self._plans) >= 256:
                self._plans.popitem(last=False)
            self._plans[key] = plan
        else:
            self._plans.move_to_end(key)
        return plan

    def _present(self, spec: ArchSpec) -> list[int]:
        for field in ("num_classes", "in_channels"):
            if getattr(spec, field) != getattr(self, field):
                raise SpecError(f"{getattr(spec, field)} differs from the supernet's {getattr(self, field)}",
                                path=field, value=getattr(spec, field))  # fmt: skip
        params = self.space.params_of(spec)
        return [i for i, stage in enumerate(self.space.stages)
                if not stage.optional or params[f"stages.{i}.present"]]  # fmt: skip

    def _make_plan(self, spec: ArchSpec) -> _Plan:
        present = self._present(spec)
        bn = {"activation": spec.activation, "bn_eps": spec.bn_eps, "bn_momentum": spec.bn_momentum}
        stem = spec.stem
        steps = [self._step(("stem", stem, spec.in_channels, *bn.values()), self.stem, _PLAIN, "stem",
                            lambda: ConvBnAct(spec.in_channels, stem.out_channels, stem.kernel_size, stem.stride,
                                              **bn))]  # fmt: skip
        branches, width = [], stem.out_channels
        for j, (i, stage) in enumerate(zip(present, spec.stages)):
            branch = self.layout[i][(stage.kind, stage.expand_ratio)]
            rule = branch.rule
            branches.append(branch)
            builder = block_registry[stage.kind]
            for b in range(stage.num_layers):
                stride = stage.stride if b == 0 else 1
                make = (lambda stage=stage, width=width, stride=stride, builder=builder: builder(
                    stage, in_channels=width, stride=stride, drop_path_rate=0.0, **bn))  # fmt: skip
                key = ("block", stage.model_copy(update={"num_layers": 1}), width, stride, *bn.values())
                storage = self.stages[i][branch.key][b]
                steps.append(self._step(key, storage, rule, f"stages.{j}.{b}", make))
                width = stage.out_channels
        steps.append(self._step(("head", width, spec.head_channels, *bn.values()), self.head, _PLAIN, "head",
                                lambda: ConvBnAct(width, spec.head_channels, 1, **bn)))  # fmt: skip
        return _Plan(spec, steps, spec.head_channels, present, branches)

    def _step(self, key: tuple[Any, ...], storage: nn.Module, rule: SlicingRule, where: str, make) -> _Step:
        if key not in self._templates:
            if len(self._templates) >= _CACHE_SIZE:
                self._templates.clear()
            with torch.device("meta"), no_init():
                template = make()
            self._templates[key] = (template, {n: t.shape for n, t in template.state_dict().items()})
        template, shapes = self._templates[key]
        return _Step(template, shapes, storage, rule, where)

    # -- running it ---------------------------------------------------------------------------------
    def _source(self, module: nn.Module) -> dict[str, Tensor]:
        tensors = self._sources.get(id(module))
        if tensors is None:
            tensors = self._sources[id(module)] = module.state_dict(keep_vars=True)
        return tensors

    def _apply(self, fn, recurse: bool = True):  # .to(), .cuda(), .float(): tensors are replaced
        self._sources = {}
        return super()._apply(fn, recurse)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        """As :meth:`torch.nn.Module.load_state_dict` (``assign=True`` keeps the given tensors, e.g. memory-mapped)."""
        self._sources = {}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _run(self, step: _Step, x: Tensor) -> Tensor:
        views = slice_block(step.rule, self._source(step.storage), step.shapes, where=step.where)
        if self._statistics is not None:
            for name in views:
                if name.rpartition(".")[2] in _BN_BUFFERS:
                    views[name] = self._statistics[f"{step.where}.{name}"]
        if step.template.training != self.training:
            step.template.train(self.training)
        return functional_call(step.template, views, (x,))

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, in_channels, H, W)`` → logits ``(N, num_classes)`` of the active subnet.

        Raises:
            RuntimeError: No subnet is active (:meth:`set_active`).
        """
        if self._active is None:
            raise RuntimeError("no subnet is active: call supernet.set_active(spec) first")
        plan = self._active
        for step in plan.steps:
            x = self._run(step, x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        rate = plan.spec.dropout if self.dropout_rate is None else self.dropout_rate
        if self.training and rate > 0:
            x = F.dropout(x, rate, True)
        return F.linear(x, self.classifier.weight[:, : plan.head_channels], self.classifier.bias)

    # -- BatchNorm statistics of one subnet ----------------------------------------------------------
    def fresh_statistics(self, spec: ArchSpec) -> dict[str, Tensor]:
        """Reset BatchNorm statistics for every BatchNorm of ``spec`` (means 0, variances 1, counts 0) under
        ``build_model(spec)``'s names, on the supernet's device: for :meth:`statistics`."""
        device = self.classifier.weight.device
        stats = {}
        for step in self._plan(spec).steps:
            for name, shape in step.shapes.items():
                buffer = name.rpartition(".")[2]
                if buffer in _BN_BUFFERS:
                    dtype = torch.long if buffer == "num_batches_tracked" else torch.float32
                    fill = torch.ones if buffer == "running_var" else torch.zeros
                    stats[f"{step.where}.{name}"] = fill(shape, dtype=dtype, device=device)
        return stats

    @contextmanager
    def statistics(self, stats: Mapping[str, Tensor], *, cumulative: bool = False) -> Iterator[Supernet]:
        """Run the active subnet with its own BatchNorm statistics ``stats`` instead of the shared ones.

        In training mode BatchNorm updates ``stats`` (never the supernet's buffers); with ``cumulative`` as a
        cumulative average over every batch (PyTorch's ``momentum=None``), which is how a subnet's statistics
        are recalibrated (SPOS, Guo et al., 2020, §3.3; OFA §3.3). In eval mode BatchNorm uses them.

        Args:
            stats: From :meth:`fresh_statistics` of the active subnet.
            cumulative: Average over all batches instead of the spec's momentum.
        """
        if self._active is None:
            raise RuntimeError("no subnet is active: call supernet.set_active(spec) first")
        layers = [m for step in self._active.steps for m in step.template.modules()
                  if isinstance(m, nn.modules.batchnorm._BatchNorm)]  # fmt: skip
        saved, previous = [m.momentum for m in layers], self._statistics
        if cumulative:
            for m in layers:
                m.momentum = None
        self._statistics = stats
        try:
            yield self
        finally:
            self._statistics = previous
            for m, momentum in zip(layers, saved):
                m.momentum = momentum

    # -- ordinary models ----------------------------------------------------------------------------
    def _source_of(self, spec: ArchSpec) -> tuple[ArchSpec, dict[str, Tensor]]:
        """The architecture of the branches ``spec`` runs on and their tensors under ``build_model`` names."""
        plan = self._plan(spec)
        state = self.state_dict()
        source = {name: tensor for name, tensor in state.items() if not name.startswith("stages.")}
        stages = []
        for j, (i, branch, stage) in enumerate(zip(plan.present, plan.branches, spec.stages)):
            prefix = f"stages.{i}.{branch.key}."
            source.update({f"stages.{j}.{name[len(prefix):]}": tensor for name, tensor in state.items()
                           if name.startswith(prefix)})  # fmt: skip
            stages.append(branch.stage.model_dump() | {"stride": stage.stride})
        widest = spec.model_dump()
        widest.update(stages=stages, head_channels=self.head.conv.out_channels,
                      stem={"out_channels": self.stem.conv.out_channels, "kernel_size": self.stem.conv.kernel_size[0],
                            "stride": spec.stem.stride})  # fmt: skip
        return spec_from_dict(widest), source

    def shared_tensors(self, spec: ArchSpec) -> dict[str, Tensor]:
        """The subnet's tensors under ``build_model(spec)``'s names, as views of the supernet's (shared storage)."""
        source_spec, source = self._source_of(spec)
        return inherit_state_dict(source_spec, source, spec, copy=False)

    def extract(self, spec: ArchSpec) -> EfficientNet:
        """An ordinary model of ``spec`` (``build_model(spec)``'s class and names) holding the subnet's weights.

        The weights are copies (:func:`nasgen.nn.inherit_state_dict`), on the supernet's device; training or
        recalibrating the model leaves the supernet unchanged. The model is in training mode, like a new one.

        Raises:
            SpecError: ``spec`` is not in the space, or has other ``num_classes`` / ``in_channels``.
        """
        source_spec, source = self._source_of(spec)
        state = inherit_state_dict(source_spec, source, spec)
        model = empty_model(spec)
        model.load_state_dict(state, assign=True)
        return model

    @torch.no_grad()
    def sort_channels(self) -> Supernet:
        """Sort every stored block's hidden and SE channels by importance (OFA §3.2), in place.

        Preserves the function of the largest subnet only: run it after training the largest alone, before
        training the smaller ones on prefix slices (OFA's progressive shrinking), not in between.
        """
        for stage_branches, modules in zip(self.layout, self.stages):
            for branch in dict.fromkeys(stage_branches.values()):
                for block in modules[branch.key]:
                    sort_block_channels(block, branch.rule)
        return self

"""The network container and ``build_model``: stem → stages of blocks → head → pool → dropout → classifier.

EfficientNet (Tan & Le, 2019, Table 1) and EfficientNetV2 (Tan & Le, 2021, Table 4) share this skeleton;
the stages come from the block registry keyed by each stage's ``kind``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from nasgen.errors import SpecError
from nasgen.nn._layers import ConvBnAct, init_weights
from nasgen.nn._registry import block_registry
from nasgen.spec import ArchSpec, load_spec

__all__ = [
    "CLASSIFIER_INITS", "EfficientNet", "block_drop_path_rates", "block_options", "build_model", "init_classifier",
]


def block_drop_path_rates(spec: ArchSpec) -> list[float]:
    """Stochastic-depth probability of every block, in network order.

    Block ``i`` of ``n`` (0-based, counted over all stages) gets ``drop_path_rate * i / n``, exactly as
    torchvision's EfficientNet (the rate grows linearly with depth; Huang et al., 2016, §3 "linear decay").
    """
    total = spec.num_blocks
    return [spec.drop_path_rate * float(i) / total for i in range(total)]


def block_options(spec: ArchSpec) -> dict[str, str]:
    """The network-wide block keywords beyond the registry's signature (``padding``, ``se_rounding``), only
    where they differ from nasgen's defaults, so a plugin builder that predates them keeps working."""
    options = {"padding": spec.padding, "se_rounding": spec.se_rounding}
    neutral = {"padding": "symmetric", "se_rounding": "floor"}
    return {name: value for name, value in options.items() if value != neutral[name]}


def _build_block(builder: Callable[..., nn.Module], stage: object, path: str, **kwargs: object) -> nn.Module:
    try:
        return builder(stage, **kwargs)
    except TypeError as exc:
        options = [name for name in ("padding", "se_rounding") if name in kwargs]
        if not options or not any(name in str(exc) for name in options):
            raise
        raise SpecError(
            f"the builder of block kind {getattr(stage, 'kind', '?')!r} does not take {', '.join(options)} "
            f"({exc}); use the default {' and '.join(options)} with this kind",
            path=path,
        ) from None


def _build_stages(spec: ArchSpec) -> nn.Sequential:
    rates = block_drop_path_rates(spec)
    options = block_options(spec)
    in_channels = spec.stem.out_channels
    block_index = 0
    stages: list[nn.Module] = []
    for stage_index, stage in enumerate(spec.stages):
        builder = block_registry.get(stage.kind)
        if builder is None:
            known = ", ".join(sorted(block_registry))
            raise SpecError(
                f"no block builder registered for kind {stage.kind!r} (registered: {known})",
                path=f"stages.{stage_index}.kind",
                value=stage.kind,
            )
        blocks: list[nn.Module] = []
        for layer in range(stage.num_layers):
            blocks.append(
                _build_block(
                    builder,
                    stage,
                    f"stages.{stage_index}.kind",
                    in_channels=in_channels,
                    stride=stage.stride if layer == 0 else 1,
                    drop_path_rate=rates[block_index],
                    activation=spec.activation,
                    bn_eps=spec.bn_eps,
                    bn_momentum=spec.bn_momentum,
                    **options,
                )
            )
            in_channels = stage.out_channels
            block_index += 1
        stages.append(nn.Sequential(*blocks))
    return nn.Sequential(*stages)


class EfficientNet(nn.Module):
    """An EfficientNet-family network built from an :class:`~nasgen.spec.ArchSpec`.

    State-dict names: ``stem.conv``, ``stem.bn``, ``stages.{i}.{j}.*`` (block names, see
    :class:`~nasgen.nn.MBConv` / :class:`~nasgen.nn.FusedMBConv`), ``head.conv``, ``head.bn``,
    ``classifier`` (a Linear after dropout). Scriptable with ``torch.jit.script`` (``spec`` is ignored by
    TorchScript) and exportable to ONNX.

    Args:
        spec: The architecture; kept unchanged as ``model.spec``.

    Raises:
        SpecError: A stage ``kind`` has no registered block builder (path ``stages.{i}.kind``).
    """

    __jit_ignored_attributes__ = ["spec"]

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        bn = {"bn_eps": spec.bn_eps, "bn_momentum": spec.bn_momentum}
        stem = spec.stem
        self.stem = ConvBnAct(
            spec.in_channels, stem.out_channels, stem.kernel_size, stem.stride, activation=spec.activation,
            padding=spec.padding, **bn,
        )  # fmt: skip
        self.stages = _build_stages(spec)
        self.head = ConvBnAct(spec.stages[-1].out_channels, spec.head_channels, 1, activation=spec.activation, **bn)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(p=spec.dropout)
        self.classifier = nn.Linear(spec.head_channels, spec.num_classes)
        self.num_features = spec.head_channels
        init_weights(self)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, stages and head conv.

        Args:
            x: Images ``(N, in_channels, H, W)``.

        Returns:
            Feature map ``(N, head_channels, h, w)`` with ``h = H / total stride`` (rounded up per stride).
        """
        x = self.stem(x)
        x = self.stages(x)
        return self.head(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Global average pool, dropout and the classifier.

        Args:
            x: Feature map ``(N, head_channels, h, w)``.
            pre_logits: Return the pooled features ``(N, head_channels)`` (before dropout) instead of logits.

        Returns:
            Logits ``(N, num_classes)``, or pooled features when ``pre_logits``.
        """
        x = torch.flatten(self.pool(x), 1)
        if pre_logits:
            return x
        return self.classifier(self.dropout(x))

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, in_channels, H, W)`` → logits ``(N, num_classes)``."""
        return self.forward_head(self.forward_features(x))


def _max_fan(classifier: nn.Linear) -> None:
    # torchvision's draw is uniform(±1/√fan_out); scaling it by √(fan_out / max(fan_in, fan_out)) gives
    # uniform(±1/√max(fan_in, fan_out)) without drawing again (every other weight keeps its seeded value).
    fan_out, fan_in = classifier.weight.shape
    classifier.weight.mul_(min(1.0, math.sqrt(fan_out / fan_in)))


def _zeros(classifier: nn.Linear) -> None:
    nn.init.zeros_(classifier.weight)


CLASSIFIER_INITS: dict[str, Callable[[nn.Linear], None]] = {
    "torchvision": lambda classifier: None,
    "max_fan": _max_fan,
    "zeros": _zeros,
}
"""Rules for the classifier's weights, applied after :func:`~nasgen.nn.init_weights` (biases stay zero).

* ``"torchvision"``: uniform(±1/√fan_out) = uniform(±1/√num_classes), torchvision's EfficientNet (timm's
  ``_init_weight_goog`` and the TF reference use the same fan-out range). Made for ImageNet: with 1,000 classes
  and B0's 1,280 features the initial logits have a standard deviation below 1. The range widens as the classes
  get fewer, so with 10 classes a fresh B0 starts confidently wrong: loss 6.36 on its first batch of embedded
  Fashion-MNIST, against ln 10 = 2.30 for a uniform guess (issue 20).
* ``"max_fan"``: uniform(±1/√max(fan_in, fan_out)): the narrower of torchvision's range and PyTorch's own
  ``nn.Linear`` default (±1/√fan_in), so identical to torchvision whenever ``num_classes ≥ in_features``, and
  never wider than PyTorch's default. First-batch loss of the same B0: 2.40.
* ``"zeros"``: zero weights, every class equally likely at the start (loss exactly ln(num_classes)); the head
  initialization of ViT (Dosovitskiy et al., 2021) and of BiT's fine-tuning (Kolesnikov et al., 2020).
"""


@torch.no_grad()
def init_classifier(classifier: nn.Linear, rule: str) -> None:
    """Re-initialize a classifier drawn by :func:`~nasgen.nn.init_weights` by one of :data:`CLASSIFIER_INITS`.

    Args:
        classifier: The final ``Linear`` (weight ``(num_classes, in_features)``), as ``init_weights`` left it.
        rule: A key of :data:`CLASSIFIER_INITS`.

    Raises:
        SpecError: Unknown ``rule`` (path ``classifier_init``); the message lists the known ones.
    """
    _check_classifier_init(rule)
    CLASSIFIER_INITS[rule](classifier)


def _check_classifier_init(rule: str) -> None:
    if rule not in CLASSIFIER_INITS:
        known = ", ".join(CLASSIFIER_INITS)
        raise SpecError(f"must be one of {known}, got {rule!r}", path="classifier_init", value=rule)


def build_model(spec: ArchSpec | str | Path, *, classifier_init: str = "torchvision") -> EfficientNet:
    """Build the PyTorch model of an architecture, with torchvision's EfficientNet weight initialisation.

    Args:
        spec: An :class:`~nasgen.spec.ArchSpec`, a built-in architecture name (``"efficientnet-b0"``) or a
            YAML/JSON path. The spec is never modified.
        classifier_init: How the classifier's weights are drawn (:data:`CLASSIFIER_INITS`). The default keeps
            torchvision's rule, exact for ImageNet's 1,000 classes; training on few classes should pass
            ``"max_fan"``, as :func:`nasgen.train.train` does (with torchvision's rule a 10-class B0 starts at
            loss 6.36, far above ln 10; issue 20). The random draws are the same for every rule, so a seed
            gives the same weights everywhere else.

    Returns:
        An :class:`EfficientNet` in training mode, on the CPU, in float32; ``model.spec`` is the spec.

    Raises:
        SpecError: ``spec`` is not a spec, name or path, cannot be loaded, or has a stage ``kind``
            without a registered block builder; or ``classifier_init`` is unknown.

    Example:
        >>> from nasgen.nn import build_model
        >>> model = build_model("efficientnet-b0")
        >>> sum(p.numel() for p in model.parameters())
        5288548
    """
    if not isinstance(spec, (ArchSpec, str, Path)):
        raise SpecError(f"expected an ArchSpec, a built-in name or a path, got {type(spec).__name__}", value=spec)
    _check_classifier_init(classifier_init)  # before building: a typo costs no B7
    model = EfficientNet(load_spec(spec))
    init_classifier(model.classifier, classifier_init)
    return model

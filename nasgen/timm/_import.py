"""``nasgen.from_timm``: the spec and weights of one of timm's EfficientNets, read off the built model.

Nothing is looked up in a table of model names: timm builds the model from its own ``arch_def`` (decoded by its
``decode_arch_def`` and ``EfficientNetBuilder``), and :mod:`nasgen.timm._read` reads every block's arguments back
off the modules it made. A model nasgen can express gives a spec whose network computes what timm's does (the
same logits, params and MACs), and timm's state dict under nasgen's names (:func:`nasgen.nn.timm_key_map`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from nasgen.data import DataConfig
from nasgen.errors import SpecError
from nasgen.nn import build_model, timm_key_map
from nasgen.spec import ArchSpec, spec_from_dict
from nasgen.timm._read import ModelFacts, read_block, read_conv, read_norm
from nasgen.timm._stages import draft_stage, se_settings

__all__ = ["TIMM_MODULE", "create_timm_model", "from_timm", "spec_from_timm", "timm_data_config"]

TIMM_MODULE = "timm.models.efficientnet"
"""The timm module whose models nasgen reads (EfficientNet, -Lite, -EdgeTPU, V2 and their ``tf_`` ports)."""


def _timm() -> Any:
    try:
        import timm
    except ImportError:
        raise SpecError("reading timm models needs timm: pip install timm (or nasgen[timm])") from None
    return timm


def create_timm_model(name: str, **kwargs: Any) -> nn.Module:
    """``timm.create_model(name, pretrained=False, **kwargs)`` for a model of :data:`TIMM_MODULE` (nothing is
    downloaded; a name of another family is refused before anything is built).

    Raises:
        SpecError: timm is not installed, has no such model, or the model is not one of its EfficientNets.
    """
    timm = _timm()
    arch = name.split(".", 1)[0]
    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch[:12]}*")[:5]
        hint = f" (close: {', '.join(close)})" if close else ""
        raise SpecError(f"timm has no model {name!r}{hint}", value=name)
    module = timm.models.model_entrypoint(arch).__module__
    if module != TIMM_MODULE:
        raise SpecError(f"timm's {name!r} is defined in {module}, not among timm's EfficientNets ({TIMM_MODULE}); "
                        "nasgen reads EfficientNet, -Lite, -EdgeTPU and -V2 models", value=name)  # fmt: skip
    return timm.create_model(name, pretrained=False, **kwargs)


def _one(values: dict[str, Any], what: str) -> Any:
    distinct = sorted(set(values.values()), key=str)
    if len(distinct) > 1:
        first = {value: path for path, value in reversed(values.items())}
        where = ", ".join(f"{value} at {first[value]}" for value in distinct)
        raise SpecError(f"the model mixes {what} ({where}); a nasgen network has one", path=first[distinct[1]])
    return distinct[0] if distinct else None


def _head(model: nn.Module, facts: ModelFacts) -> dict[str, int]:
    if isinstance(model.conv_head, nn.Identity):
        raise SpecError("no head conv (num_features=0); nasgen's networks always have one",
                        path="conv_head")  # fmt: skip
    _, head, _, _ = read_conv(model.conv_head, "conv_head", facts, kernel=1)
    read_norm(model.bn2, "bn2", facts, act=True)
    pool = model.global_pool
    if getattr(pool, "pool_type", None) != "avg" or isinstance(getattr(pool, "flatten", None), nn.Identity):
        raise SpecError(f"the global pool is {getattr(pool, 'pool_type', type(pool).__name__)!r}; nasgen pools "
                        "by average", path="global_pool")  # fmt: skip
    if not isinstance(model.classifier, nn.Linear):
        raise SpecError("no Linear classifier (num_classes=0?)", path="classifier")
    return {"head_channels": head, "num_classes": model.classifier.out_features}


def _drop_path_rate(rates: list[float]) -> float:
    # timm, like nasgen, gives block i of n the rate drop_path_rate * i / n; the last block holds the most digits
    n = len(rates)
    rate = round(rates[-1] * n / (n - 1), 12) if n > 1 else 0.0
    expected = [rate * i / n for i in range(n)]
    if any(abs(a - b) > 1e-9 for a, b in zip(rates, expected, strict=True)):
        raise SpecError(f"drop-path rates {rates[:4]}… that do not grow linearly with the block index",
                        path="blocks")  # fmt: skip
    return rate


def _resolution(model: nn.Module) -> int:
    size = (getattr(model, "pretrained_cfg", None) or {}).get("input_size") or (3, 224, 224)
    return int(size[-1])


def spec_from_timm(model: nn.Module, *, name: str | None = None) -> ArchSpec:
    """The :class:`~nasgen.spec.ArchSpec` of a built timm EfficientNet (``timm.models.efficientnet.EfficientNet``).

    ``resolution_px`` is the ``input_size`` of the model's ``pretrained_cfg`` (the size timm's weights were
    trained at), ``dropout`` its ``drop_rate``, ``drop_path_rate`` its stochastic-depth rate (0 for
    ``timm.create_model``'s defaults; timm trains its EfficientNets with 0.2 / 0.2).

    Raises:
        SpecError: Not a timm EfficientNet, or a part nasgen cannot express, named by its module path.
    """
    if type(model).__name__ != "EfficientNet" or type(model).__module__ != TIMM_MODULE:
        raise SpecError(f"expected a {TIMM_MODULE}.EfficientNet, got {type(model).__module__}.{type(model).__name__}")
    try:
        return _read_spec(model, name)
    except SpecError as exc:
        raise exc.with_location(file=f"timm:{name or type(model).__name__}") from None


def _read_spec(model: nn.Module, name: str | None) -> ArchSpec:
    facts = ModelFacts.empty()
    in_channels, stem, stem_k, stem_stride = read_conv(model.conv_stem, "conv_stem", facts)
    read_norm(model.bn1, "bn1", facts, act=True)
    blocks = [[read_block(block, f"blocks.{i}.{j}", facts) for j, block in enumerate(stage)]
              for i, stage in enumerate(model.blocks)]  # fmt: skip
    drafts = [draft_stage(i, stage) for i, stage in enumerate(blocks)]
    se_rounding = se_settings(drafts)
    head = _head(model, facts)
    eps, momentum = _one(facts.norms, "BatchNorm settings (eps, momentum)")
    cfg = getattr(model, "pretrained_cfg", None) or {}
    data = {
        "name": name or cfg.get("architecture"),
        "in_channels": in_channels,
        "resolution_px": _resolution(model),
        "stem": {"out_channels": stem, "kernel_size": stem_k, "stride": stem_stride},
        "stages": [draft.fields for draft in drafts],
        **head,
        "dropout": float(getattr(model, "drop_rate", 0.0)),
        "drop_path_rate": _drop_path_rate([block.drop_path for stage in blocks for block in stage]),
        "activation": _one(facts.activations, "activations"),
        "bn_eps": eps,
        "bn_momentum": momentum,
        "padding": _one(facts.paddings, "paddings") or "symmetric",
        "se_rounding": se_rounding,
    }
    return spec_from_dict(data)


def _check_outputs(model: nn.Module, ours: nn.Module, spec: ArchSpec, name: str) -> None:
    """Guard against a part the reader missed: both networks on one random batch, eval mode, 64 px."""
    x = torch.randn(2, spec.in_channels, 64, 64, generator=torch.Generator().manual_seed(0))
    training = model.training
    try:
        with torch.no_grad():
            theirs, mine = model.eval()(x), ours.eval()(x)
    finally:
        model.train(training)
    scale = float(theirs.abs().max())
    diff = float((theirs - mine).abs().max())
    if not diff <= 1e-4 * scale + 1e-7:
        raise SpecError(f"nasgen's rebuild computes other outputs (largest difference {diff:.3g} on logits up to "
                        f"{scale:.3g}); timm may have changed how it builds this model", file=f"timm:{name}")  # fmt: skip


def from_timm(model: nn.Module | str, *, check: bool = True, **create_kwargs: Any) -> tuple[ArchSpec, dict[str, Tensor]]:
    """The nasgen architecture and weights of one of timm's EfficientNets.

    Args:
        model: A built ``timm.models.efficientnet.EfficientNet`` (with any weights loaded into it), or a timm
            model name (``"tf_efficientnetv2_s"``), which is created with ``pretrained=False`` (random weights;
            nothing is downloaded).
        check: Run both networks on a random batch and require the same outputs (a guard against a part of a
            future timm the reader does not know; one forward pass each at 64 px).
        **create_kwargs: ``timm.create_model`` keywords when ``model`` is a name (``num_classes``,
            ``drop_rate``, ``drop_path_rate`` …).

    Returns:
        ``(spec, state_dict)``: the spec (named after the timm architecture) and timm's tensors under nasgen's
        state-dict names, ready for ``build_model(spec).load_state_dict``. The tensors are timm's own (not
        copied).

    Raises:
        SpecError: timm is missing, the name is unknown or of another family, or the model has a part nasgen
            cannot express (GroupNorm, CondConv, pruned widths, anti-aliasing …), named by its module path.

    Example:
        >>> spec, state = from_timm("tf_efficientnetv2_b0")  # doctest: +SKIP
        >>> spec.padding, spec.bn_eps  # doctest: +SKIP
        ('same', 0.001)
    """
    if isinstance(model, str):
        name = model
        model = create_timm_model(model, **create_kwargs)
    else:
        name = (getattr(model, "pretrained_cfg", None) or {}).get("architecture") or type(model).__name__
    spec = spec_from_timm(model, name=name if isinstance(name, str) else None)
    key_map = timm_key_map(spec)
    state = model.state_dict()
    unknown = [key for key in state if key not in key_map]
    if unknown:
        raise SpecError(f"tensors nasgen has no place for: {', '.join(unknown[:5])}", path=unknown[0],
                        file=f"timm:{name}")  # fmt: skip
    ours = {key_map[key]: value for key, value in state.items()}
    if check:
        network = build_model(spec)
        network.load_state_dict(ours, strict=True)
        _check_outputs(model, network, spec, name)
    return spec, ours


def timm_data_config(model: nn.Module) -> DataConfig | None:
    """The :class:`~nasgen.data.DataConfig` of a timm model's ``pretrained_cfg`` (mean, std, input size, crop,
    interpolation), or ``None`` when it has none.

    Raises:
        SpecError: An interpolation or crop mode nasgen's preprocessing does not implement.
    """
    cfg = getattr(model, "pretrained_cfg", None) or {}
    if not cfg.get("mean") or not cfg.get("input_size"):
        return None
    interpolation = cfg.get("interpolation") or "bilinear"
    crop_mode = cfg.get("crop_mode") or "center"
    if interpolation not in ("bilinear", "bicubic", "nearest") or crop_mode not in ("center", "squash"):
        raise SpecError(f"timm's pretrained_cfg asks for {interpolation} interpolation and {crop_mode!r} cropping; "
                        "nasgen's preprocessing has bilinear, bicubic, nearest and center / squash")  # fmt: skip
    tag = ".".join(part for part in (cfg.get("architecture"), cfg.get("tag")) if part)
    return DataConfig(
        mean=tuple(float(v) for v in cfg["mean"]), std=tuple(float(v) for v in cfg["std"]),
        input_size=tuple(int(v) for v in cfg["input_size"]), interpolation=interpolation,
        crop_pct=float(cfg.get("crop_pct") or 1.0), crop_mode=crop_mode,
        num_classes=int(getattr(model, "num_classes", None) or cfg.get("num_classes") or 1000),
        dataset=f"timm pretrained_cfg of {tag}" if tag else "timm pretrained_cfg",
    )  # fmt: skip

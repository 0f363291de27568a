"""Starting a full run from trained weights: ``nasgen train ARCH --init FILE`` / ``--init inherit:FILE``.

``FILE``: a state dict with nasgen's, timm's or torchvision's names (safetensors, or a torch file read with
``weights_only=True``; :func:`nasgen.nn.read_state_dict`), renamed through nasgen's key maps for the architecture
being trained; every tensor whose name and shape match is loaded, the classifier never (a new head for the
user's classes), an RGB stem given grey data takes the sum of its three input filters (timm's
``adapt_input_conv``). ``inherit:FILE``: a *different*, smaller architecture's weights cut out of a larger trained
one's by Once-for-All slicing (:func:`nasgen.nn.sort_channels`, :func:`nasgen.nn.inherit_state_dict`; the
supernet's implementation), the larger one read from the ``arch.yaml`` beside ``FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import torch
from torch import Tensor, nn

from nasgen.errors import NasgenError, SpecError, TrainError
from nasgen.nn import (
    check_sub_architecture,
    empty_model,
    inherit_state_dict,
    naming_of,
    read_state_dict,
    sort_channels,
    timm_key_map,
    torchvision_key_map,
)
from nasgen.spec import ArchSpec, load_spec

__all__ = ["INHERIT", "InitReport", "inherit_stage_map", "init_model"]

INHERIT = "inherit:"
"""Prefix of an ``init`` that slices a larger architecture's weights (OFA) instead of loading by name."""

_KEY_MAPS = {"timm": timm_key_map, "torchvision": torchvision_key_map}
_GREY = "RGB filters summed for 1-channel input (timm's adapt_input_conv)"


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_model` did: the account ``nasgen train --init`` prints.

    Attributes:
        source: The ``init`` as given.
        naming: Whose names the file used (``"nasgen"``, ``"timm"``, ``"torchvision"``), or ``"inherited"``.
        loaded: Model tensors taken from the file (nasgen names).
        reinitialised: ``{model tensor: why}`` of those left at their fresh initialization.
        adapted: ``{model tensor: how}`` of loaded tensors changed to fit (an RGB stem for grey images).
        skipped: File tensors used nowhere (their names in the file).
        loaded_params: Parameters (not buffers) loaded.
    """

    source: str
    naming: str
    loaded: tuple[str, ...]
    reinitialised: dict[str, str] = field(default_factory=dict)
    adapted: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    loaded_params: int = 0

    def lines(self) -> list[str]:
        """The account, one line per kind of outcome (lists cut at 6 names)."""

        def names(items) -> str:
            items = list(items)
            return ", ".join(items[:6]) + (f" … ({len(items)})" if len(items) > 6 else "")

        out = [f"init: loaded {len(self.loaded)} tensors ({self.loaded_params:,} params) from {self.source} "
               f"({self.naming} names)"]  # fmt: skip
        by_reason: dict[str, list[str]] = {}
        for name, why in self.reinitialised.items():
            by_reason.setdefault(why, []).append(name)
        out += [f"init: re-initialised ({why}): {names(group)}" for why, group in by_reason.items()]
        out += [f"init: adapted {name}: {how}" for name, how in self.adapted.items()]
        if self.skipped:
            out.append(f"init: skipped {len(self.skipped)} tensors of the file that fit nothing: {names(self.skipped)}")
        return out


def _adapt_stem(tensor: Tensor, shape: torch.Size) -> Tensor | None:
    """An RGB stem filter bank for grey input: the three input filters summed (timm's ``adapt_input_conv``)."""
    if tensor.dim() == 4 and tensor.shape[1] == 3 and shape[1] == 1 and tensor.shape[0] == shape[0] and \
            tensor.shape[2:] == shape[2:]:  # fmt: skip
        return tensor.sum(dim=1, keepdim=True)
    return None


def _renamed(state: dict[str, Tensor], spec: ArchSpec, path: Path) -> tuple[str, dict[str, Tensor], list[str]]:
    """``(naming, {nasgen name: tensor}, file names mapped nowhere)``."""
    naming = naming_of(state)
    if naming is None:
        examples = ", ".join(list(state)[:3])
        raise TrainError(f"{path}: no tensor is named like nasgen's, timm's or torchvision's EfficientNet "
                         f"({len(state)} tensors: {examples} …), so none matches the architecture")  # fmt: skip
    if naming == "nasgen":
        return naming, dict(state), []
    try:
        key_map = _KEY_MAPS[naming](spec)
    except SpecError as exc:
        raise TrainError(f"{path}: {naming}'s names cannot be mapped onto this architecture ({exc})") from None
    return naming, {key_map[k]: v for k, v in state.items() if k in key_map}, [k for k in state if k not in key_map]


def _load(model: nn.Module, tensors: dict[str, Tensor], *, source: str, naming: str, skipped: list[str],
          adapted: dict[str, str] | None = None) -> InitReport:  # fmt: skip
    target = model.state_dict()
    loaded: dict[str, Tensor] = {}
    adapted = dict(adapted or {})
    reinitialised: dict[str, str] = {}
    skipped = skipped + [name for name in tensors if name not in target]
    for name, wanted in target.items():  # in the network's order
        tensor = tensors.get(name)
        if name.startswith("classifier."):
            reinitialised[name] = f"a new head for {model.spec.num_classes} classes"
        elif tensor is None:
            reinitialised[name] = "not in the file"
        elif tensor.shape == wanted.shape:
            loaded[name] = tensor
        elif name == "stem.conv.weight" and (grey := _adapt_stem(tensor, wanted.shape)) is not None:
            loaded[name], adapted[name] = grey, _GREY
        else:
            reinitialised[name] = "shape differs from the file's"
    if not any(not name.endswith("num_batches_tracked") for name in loaded):
        raise TrainError(f"{source}: no tensor matches the architecture by name and shape "
                         f"({len(tensors)} tensors under {naming} names)")  # fmt: skip
    model.load_state_dict(loaded, strict=False)
    params = dict(model.named_parameters())
    return InitReport(source, naming, tuple(loaded), reinitialised, adapted, tuple(skipped),
                      sum(params[name].numel() for name in loaded if name in params))  # fmt: skip


def _inputs(spec: ArchSpec) -> list[int]:
    return [spec.stem.out_channels, *(stage.out_channels for stage in spec.stages[:-1])]


def inherit_stage_map(src: ArchSpec, dst: ArchSpec) -> list[int] | None:
    """For each stage of ``dst`` the stage of ``src`` it inherits from: ``None`` (stage by stage) when both have
    as many, else the first increasing choice that holds it (a searched space may remove stages): every stage
    a sub-stage (:func:`nasgen.nn.check_sub_architecture`) whose first block's input is no wider either.

    Raises:
        TrainError: No choice of the source's stages holds ``dst``'s.
    """
    if len(src.stages) == len(dst.stages):
        return None
    src_in, dst_in = _inputs(src), _inputs(dst)
    for choice in combinations(range(len(src.stages)), len(dst.stages)):
        if any(dst_in[j] > src_in[m] for j, m in enumerate(choice)):
            continue  # the first block's weights would need more input channels than the source's have
        try:
            check_sub_architecture(src, dst, list(choice))
        except SpecError:
            continue
        return list(choice)
    raise TrainError(f"no {len(dst.stages)} of the source's {len(src.stages)} stages hold this architecture's")


def _source_of(path: Path) -> tuple[Path, Path]:
    """``(weights file, arch.yaml)`` of an ``inherit:`` source: a directory or a weights file beside arch.yaml."""
    weights = path / "weights.safetensors" if path.is_dir() else path
    arch = weights.parent / "arch.yaml"
    if not arch.is_file():
        raise TrainError(f"{path}: inherit: needs the larger architecture's arch.yaml beside its weights "
                         "(a `nasgen train` or `nasgen import` directory)")  # fmt: skip
    return weights, arch


def _inherit(model: nn.Module, source: str) -> InitReport:
    weights, arch = _source_of(Path(source[len(INHERIT):]))
    try:
        src_spec = load_spec(arch)
        naming, state, skipped = _renamed(read_state_dict(weights, error=TrainError), src_spec, weights)
        dst, stem, adapted = model.spec, src_spec.stem, {}
        if dst.in_channels != src_spec.in_channels and "stem.conv.weight" in state:
            shape = torch.Size((stem.out_channels, dst.in_channels, stem.kernel_size, stem.kernel_size))
            grey = _adapt_stem(state["stem.conv.weight"], shape)
            if grey is not None:
                state["stem.conv.weight"], src_spec = grey, src_spec.replace(in_channels=dst.in_channels)
                adapted["stem.conv.weight"] = _GREY
        larger = empty_model(src_spec)  # no weights drawn: the file's are assigned
        larger.load_state_dict(state, strict=True, assign=True)
        sort_channels(larger)  # OFA §3.2: the important channels first, so the prefix slices keep them
        cut = inherit_state_dict(src_spec, larger.state_dict(), dst, stage_map=inherit_stage_map(src_spec, dst))
    except NasgenError as exc:
        raise TrainError(f"{source}: {exc}") from None
    except RuntimeError as exc:  # load_state_dict: the weights are not arch.yaml's
        first = str(exc).strip().splitlines()[0]
        raise TrainError(f"{source}: the weights do not fit {arch} ({first})") from None
    cut = {name: tensor for name, tensor in cut.items() if not name.startswith("classifier.")}
    return _load(model, cut, source=source, naming=f"inherited ({src_spec.name or 'larger'} sliced, {naming})",
                 skipped=skipped, adapted=adapted)  # fmt: skip


def init_model(model: nn.Module, init: str) -> InitReport:
    """Load trained weights into ``model`` (a :func:`nasgen.nn.build_model` network) before fine-tuning.

    Args:
        model: The freshly built network (its ``spec`` is the architecture being trained).
        init: A weights file (nasgen, timm or torchvision names), or ``inherit:FILE`` / ``inherit:DIR`` for a
            smaller architecture cut out of the larger one of ``FILE``'s directory (``arch.yaml`` beside it).

    Returns:
        The :class:`InitReport` (what was loaded, re-initialised, adapted and skipped).

    Raises:
        TrainError: The file is missing, truncated, a pickle promised as safetensors, refused by
            ``weights_only``, matches nothing, or (``inherit:``) holds no larger architecture of this one.
    """
    if init.startswith(INHERIT):
        return _inherit(model, init)
    path = Path(init)
    naming, tensors, skipped = _renamed(read_state_dict(path, error=TrainError), model.spec, path)
    return _load(model, tensors, source=init, naming=naming, skipped=skipped)

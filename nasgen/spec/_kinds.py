"""Block kinds: one :class:`BlockKind` descriptor per stage ``kind``, registered once in the spec layer.

A descriptor binds a kind to everything the other packages need (as torchvision's ``_MBConvConfig`` carries
its block class): the stage model that validates it, its cost rule, its block builder, the source copied
into the generated ``model.py``, its timm notation and how its MACs behave. Code is named by import string
(``"package.module:attribute"``), so this torch-free layer never imports upward; ``nasgen.nn``,
``nasgen.cost``, ``nasgen.space`` and ``nasgen.exporting`` all read this one registry. Plugins return
descriptors from the ``nasgen_block_kinds`` hook and the plugin manager registers them here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nasgen import _discovery
from nasgen.errors import PluginError

__all__ = [
    "BUILTIN_STAGE_KINDS",
    "BlockKind",
    "block_kind",
    "block_kinds",
    "register_block_kind",
    "register_stage_kind",
    "registered_stage_kinds",
    "resolve",
    "unregister_stage_kind",
]

BUILTIN_STAGE_KINDS = ("mbconv", "fused_mbconv")
"""Stage kinds nasgen defines itself; plugins add others with :func:`register_block_kind`."""

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

Target = Callable[..., Any] | str | None
"""A callable, an import string ``"package.module:attribute"``, or ``None`` (not provided)."""


@dataclass(frozen=True)
class BlockKind:
    """Everything nasgen knows about one stage ``kind``, in one place.

    Attributes:
        kind: The stage tag used in architecture files (``kind: ds``); a lower-case identifier.
        builder: Makes one block as a ``torch.nn.Module``, called as ``builder(stage, *, in_channels, stride,
            drop_path_rate, activation, bn_eps, bn_momentum)`` (plus ``padding`` / ``se_rounding`` where a spec
            sets them away from the default, ``nasgen.nn.block_options``); maps ``(N, in_channels, H, W)`` to
            ``(N, stage.out_channels, ceil(H / stride), ceil(W / stride))``. A callable or an import string.
        cost_rule: ``rule(trace, stage, stride)`` recording one block on a :class:`~nasgen.cost.LayerTrace`;
            the analytic cost must equal the thop measurement of the built block. Callable or import string.
        options_model: Pydantic model validating a plugin stage's ``options``; ``None`` = no options.
        description: One line shown by ``nasgen plugins``.
        stage_model: The pydantic stage class (built-in kinds); ``None`` = :class:`~nasgen.spec.CustomStageSpec`.
        source: Import strings of the torch-only classes and functions copied (``inspect.getsource``) into the
            generated ``model.py`` for this kind, in order; the builder's own source follows them. They may
            use the shared layers of ``nasgen.nn`` (``MODEL_CODE_SHARED``) and the spec formulas.
            ``None``: no ``model.py`` can be generated for the kind.
        timm_prefix: The block prefix of timm's ``arch_def`` notation (``ir``, ``er``, ``ds``), or ``None``
            when timm has no equivalent block.
        monotone_macs: ``True`` when MACs grow monotonically with every shared field at the cheap/expensive
            ends (``stride`` inverted). ``False`` marks Fused-MBConv's break: ``expand_ratio`` 1 builds a
            different block (one k×k conv straight to ``out_channels``), monotone only among ratios ≥ 2; the
            space extremes then try ratio 1 and the extreme ratio ≥ 2 separately.
        slicing: How one larger block's weights hold the kind's smaller blocks (a supernet's weight sharing;
            weights inherited from a larger architecture): the import string of a :class:`nasgen.nn.SlicingRule`,
            or the rule itself. ``None``: no supernet can share the kind.
    """

    kind: str
    builder: Target = None
    cost_rule: Target = None
    options_model: type | None = None
    description: str = ""
    stage_model: type | None = None
    source: tuple[str, ...] | None = None
    timm_prefix: str | None = None
    monotone_macs: bool = True
    slicing: Any = None

    @property
    def name(self) -> str:
        """The stage tag (same as :attr:`kind`)."""
        return self.kind

    def resolved_builder(self) -> Callable[..., Any] | None:
        """The builder as a callable (imports it), or ``None`` when the kind has none."""
        return resolve(self.builder)

    def resolved_cost_rule(self) -> Callable[..., None] | None:
        """The cost rule as a callable (imports it), or ``None`` when the kind has none."""
        return resolve(self.cost_rule)


_RESOLVED: dict[str, Any] = {}


def resolve(target: Target) -> Any:
    """A callable as is; an import string ``"package.module:attribute"`` imported (once); ``None`` as is.

    Raises:
        PluginError: The string is malformed or does not import.
    """
    if not isinstance(target, str):
        return target
    if target not in _RESOLVED:
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise PluginError(f"import string must look like 'package.module:attribute', got {target!r}")
        try:
            value: Any = importlib.import_module(module)
            for part in attribute.split("."):
                value = getattr(value, part)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"cannot import {target!r}: {type(exc).__name__}: {exc}") from None
        _RESOLVED[target] = value
    return _RESOLVED[target]


def _check_target(kind: str, what: str, target: Any) -> None:
    if target is None or callable(target) or (isinstance(target, str) and ":" in target):
        return
    raise PluginError(f"{what} of block kind {kind!r} must be callable or an import string 'module:name', "
                      f"got {target!r}")


_KINDS: dict[str, tuple[BlockKind, str]] = {}
_discovery_done = False


def register_block_kind(descriptor: BlockKind, *, owner: str = "", builtin: bool = False) -> BlockKind:
    """Register a block kind (the plugin manager calls this for each ``nasgen_block_kinds`` descriptor).

    Registering an equal descriptor again with the same owner is harmless (plugin reloads).

    Args:
        descriptor: The kind's descriptor.
        owner: The plugin that provides it, named in duplicate errors.
        builtin: Internal: nasgen's own kinds.

    Returns:
        ``descriptor``.

    Raises:
        PluginError: A malformed tag or target, a built-in tag, or a tag already registered differently.
    """
    kind = descriptor.kind if isinstance(descriptor, BlockKind) else None
    if kind is None:
        raise PluginError(f"expected a nasgen.spec.BlockKind, got {descriptor!r}")
    if not isinstance(kind, str) or not _KIND_NAME.match(kind):
        raise PluginError(f"stage kind must be a lower-case identifier like 'plain_conv', got {kind!r}")
    if kind in BUILTIN_STAGE_KINDS and not builtin:
        raise PluginError(f"stage kind {kind!r} is built in; plugin {owner or '?'} cannot register it")
    options = descriptor.options_model
    if options is not None and not (isinstance(options, type) and hasattr(options, "model_validate")):
        raise PluginError(f"options model of stage kind {kind!r} must be a pydantic model, got {options!r}")
    _check_target(kind, "builder", descriptor.builder)
    _check_target(kind, "cost rule", descriptor.cost_rule)
    known = _KINDS.get(kind)
    if known is not None and known != (descriptor, owner):
        raise PluginError(f"stage kind {kind!r} is registered twice: by {known[1] or '?'} and by {owner or '?'}")
    _KINDS[kind] = (descriptor, owner)
    return descriptor


def register_stage_kind(kind: str, options_model: type | None = None, *, owner: str = "") -> None:
    """Let stages of ``kind`` validate as :class:`CustomStageSpec`: a descriptor with no builder or cost rule
    (such a stage validates and prints but neither builds nor is priced; a kind that does registers its whole
    :class:`BlockKind` with :func:`register_block_kind`).

    Raises:
        PluginError: As :func:`register_block_kind`.
    """
    if not isinstance(kind, str) or not _KIND_NAME.match(kind):
        raise PluginError(f"stage kind must be a lower-case identifier like 'plain_conv', got {kind!r}")
    register_block_kind(BlockKind(kind, options_model=options_model), owner=owner)


def unregister_stage_kind(kind: str) -> None:
    """Forget a plugin stage kind (for plugin reloads and tests); unknown and built-in kinds are ignored."""
    if kind not in BUILTIN_STAGE_KINDS:
        _KINDS.pop(kind, None)


def registered_stage_kinds() -> dict[str, str]:
    """Plugin stage kinds mapped to the plugin that registered each."""
    return {kind: owner for kind, (_, owner) in _KINDS.items() if kind not in BUILTIN_STAGE_KINDS}


def block_kinds() -> Mapping[str, BlockKind]:
    """Every registered kind (built-in first, then plugin kinds in registration order), read-only."""
    return MappingProxyType({kind: descriptor for kind, (descriptor, _) in _KINDS.items()})


def block_kind(kind: str, *, discover: bool = True) -> BlockKind:
    """The descriptor of ``kind``; an unknown kind first makes nasgen scan the installed plugins once.

    Raises:
        PluginError: No such kind is registered.
    """
    if kind not in _KINDS and discover:
        discover_plugin_kinds()
    try:
        return _KINDS[kind][0]
    except KeyError:
        known = ", ".join(repr(k) for k in _KINDS)
        raise PluginError(f"unknown block kind {kind!r} (registered: {known})") from None


def discover_plugin_kinds() -> None:
    """Scan the installed plugins once (a YAML file may use a plugin's kind before anything loaded them).

    The spec layer does not import the plugin manager: ``nasgen/__init__.py`` installs the scan in
    :mod:`nasgen._discovery`, the package's one upward-pointing callback.
    """
    global _discovery_done
    if _discovery_done:
        return
    _discovery_done = True
    _discovery.discover_plugins()

"""PyTorch models from architecture specs: layers, MBConv / Fused-MBConv blocks, the network container.

Three tiers, as timm's EfficientNet: generic layers (:class:`ConvBnAct`, :class:`SqueezeExcite`,
:class:`DropPath`), blocks with flat keyword arguments (:class:`MBConv`, :class:`FusedMBConv`) and
:func:`build_model`, which dispatches each stage through the block registry keyed by its ``kind``.
:func:`from_torchvision` loads torchvision's ``efficientnet_*`` weights under nasgen's names;
:func:`from_timm_state_dict` does the same for timm's naming. :func:`sort_channels` and
:func:`inherit_state_dict` cut a smaller architecture's weights out of a larger one's (Once-for-All slicing,
one :class:`SlicingRule` per block kind). :class:`ModuleTimer` builds the parts and networks that
``nasgen.cost``'s latency table times (:func:`latency_table`, :func:`measure_latency`).

Example:
    >>> import torch
    >>> from nasgen.nn import build_model
    >>> model = build_model("efficientnet-b0").eval()
    >>> model(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 1000])
"""

from nasgen.nn._blocks import FusedMBConv, MBConv, build_fused_mbconv, build_mbconv, se_channels
from nasgen.nn._layers import (
    ACTIVATION_LAYERS,
    MODEL_CODE_SHARED,
    Conv2dSame,
    ConvBnAct,
    DropPath,
    SqueezeExcite,
    check_block_args,
    check_kernel_stride,
    check_positive,
    init_weights,
    make_activation,
    make_bn,
    make_conv,
    residual_parts,
)
from nasgen.spec import hidden_channels
from nasgen.nn._model import (
    CLASSIFIER_INITS,
    EfficientNet,
    block_drop_path_rates,
    block_options,
    build_model,
    init_classifier,
)
from nasgen.nn._registry import BlockBuilder, block_registry
from nasgen.nn._inherit import check_sub_architecture, empty_model, inherit_state_dict, no_init, target_shapes
from nasgen.nn._slicing import (
    FUSED_MBCONV_SLICING,
    MBCONV_SLICING,
    ChannelGroup,
    SlicingRule,
    bn_members,
    se_channel_group,
    slice_block,
    slice_tensor,
    slicing_rule,
    sort_block_channels,
    sort_channels,
)
from nasgen.nn._state_file import naming_of, read_state_dict
from nasgen.nn._timing import ModuleTimer, build_part, latency_table, measure_latency, measure_network
from nasgen.nn._timm import from_timm_state_dict, timm_key_map
from nasgen.nn._torchvision import from_torchvision, spec_from_torchvision, torchvision_key_map

__all__ = [
    "ACTIVATION_LAYERS",
    "CLASSIFIER_INITS",
    "FUSED_MBCONV_SLICING",
    "MBCONV_SLICING",
    "ChannelGroup",
    "SlicingRule",
    "bn_members",
    "check_sub_architecture",
    "empty_model",
    "inherit_state_dict",
    "no_init",
    "se_channel_group",
    "slice_block",
    "slice_tensor",
    "slicing_rule",
    "sort_block_channels",
    "sort_channels",
    "target_shapes",
    "MODEL_CODE_SHARED",
    "ModuleTimer",
    "build_part",
    "latency_table",
    "measure_latency",
    "measure_network",
    "build_fused_mbconv",
    "build_mbconv",
    "check_block_args",
    "check_kernel_stride",
    "check_positive",
    "hidden_channels",
    "init_classifier",
    "init_weights",
    "make_bn",
    "make_conv",
    "residual_parts",
    "BlockBuilder",
    "Conv2dSame",
    "ConvBnAct",
    "DropPath",
    "EfficientNet",
    "FusedMBConv",
    "MBConv",
    "SqueezeExcite",
    "block_drop_path_rates",
    "block_options",
    "block_registry",
    "build_model",
    "from_timm_state_dict",
    "from_torchvision",
    "make_activation",
    "naming_of",
    "read_state_dict",
    "se_channels",
    "spec_from_torchvision",
    "timm_key_map",
    "torchvision_key_map",
]

"""Architecture specs: frozen, tagged pydantic models with YAML/JSON I/O (no torch).

Example:
    >>> from nasgen.spec import load_spec
    >>> spec = load_spec("efficientnet-b0")
    >>> spec.display()[1]
    'ir_r2_k3_s2_e6_c24_se0.25'
"""

from nasgen.spec._bounds import (
    MAX_BN_EPS,
    MAX_BN_MOMENTUM,
    MAX_CHANNELS,
    MAX_EXPAND_RATIO,
    MAX_IN_CHANNELS,
    MAX_LAYERS,
    MAX_NUM_CLASSES,
    MAX_RESOLUTION_PX,
    MAX_STAGES,
)
from nasgen.spec._io import (
    builtin_architectures,
    dump_json,
    dump_yaml,
    json_schema,
    load_spec,
    loads_spec,
    save_spec,
    spec_from_dict,
)
from nasgen.spec._base import SpecModel, pydantic_errors
from nasgen.spec._formulas import hidden_channels, make_divisible, network_stride, se_channels, total_stride
from nasgen.spec._kinds import BlockKind, block_kind, block_kinds, discover_plugin_kinds, register_block_kind, resolve
from nasgen.spec._models import (
    ACTIVATIONS,
    BUILTIN_STAGE_KINDS,
    KERNEL_SIZES,
    PADDINGS,
    SE_ROUNDINGS,
    STRIDES,
    ArchSpec,
    BlockSpec,
    CustomStageSpec,
    FusedMBConvSpec,
    MBConvSpec,
    StemSpec,
    register_stage_kind,
    registered_stage_kinds,
    unregister_stage_kind,
)
from nasgen.spec._notation import parse_stage_string, spec_from_arch_def, stage_to_string, timm_model_name
from nasgen.spec._yaml import read_text, spec_error_from_validation, validate_document, yaml_document

__all__ = [
    "discover_plugin_kinds",
    "pydantic_errors",
    "SpecModel",
    "resolve",
    "register_block_kind",
    "block_kinds",
    "block_kind",
    "BlockKind",
    "total_stride",
    "se_channels",
    "network_stride",
    "make_divisible",
    "hidden_channels",
    "ACTIVATIONS",
    "BUILTIN_STAGE_KINDS",
    "KERNEL_SIZES",
    "MAX_BN_EPS",
    "MAX_BN_MOMENTUM",
    "MAX_CHANNELS",
    "MAX_EXPAND_RATIO",
    "MAX_IN_CHANNELS",
    "MAX_LAYERS",
    "MAX_NUM_CLASSES",
    "MAX_RESOLUTION_PX",
    "MAX_STAGES",
    "PADDINGS",
    "SE_ROUNDINGS",
    "STRIDES",
    "ArchSpec",
    "BlockSpec",
    "CustomStageSpec",
    "FusedMBConvSpec",
    "MBConvSpec",
    "StemSpec",
    "builtin_architectures",
    "dump_json",
    "dump_yaml",
    "json_schema",
    "load_spec",
    "loads_spec",
    "parse_stage_string",
    "read_text",
    "register_stage_kind",
    "registered_stage_kinds",
    "save_spec",
    "spec_error_from_validation",
    "spec_from_arch_def",
    "spec_from_dict",
    "stage_to_string",
    "timm_model_name",
    "unregister_stage_kind",
    "validate_document",
    "yaml_document",
]

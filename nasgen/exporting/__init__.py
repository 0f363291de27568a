"""Export found architectures: arch YAML, standalone PyTorch code, weights, TorchScript, ONNX, manifest.

The package is named ``exporting`` so that the public function ``nasgen.export`` never collides with a
subpackage of the same name (importing ``nasgen.export`` would otherwise rebind that attribute to the
module). Importing it needs neither torch nor Optuna; torch is imported when models are built, Optuna
only when a run directory is read.

Example:
    >>> import nasgen
    >>> result = nasgen.export("efficientnet-b0", "out/b0", formats="arch,code,manifest")
    >>> result.paths["code"].name
    'model.py'
    >>> model = nasgen.load("out/b0")  # arch.yaml (+ weights.safetensors when present), eval mode
"""

from nasgen.exporting._api import FORMAT_NAMES, ExportedFile, ExportResult, export, load, parse_formats
from nasgen.exporting._codegen import arch_name, code_unsupported, import_model_code, render_model_code
from nasgen.exporting._interop import timm_view, torchvision_view
from nasgen.exporting._manifest import COST_CONVENTION, build_manifest
from nasgen.exporting._source import ExportSource, parse_trial, resolve_source

__all__ = [
    "COST_CONVENTION",
    "FORMAT_NAMES",
    "ExportResult",
    "ExportSource",
    "ExportedFile",
    "arch_name",
    "build_manifest",
    "code_unsupported",
    "export",
    "import_model_code",
    "load",
    "parse_formats",
    "parse_trial",
    "render_model_code",
    "resolve_source",
    "timm_view",
    "torchvision_view",
]

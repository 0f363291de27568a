"""Training: the proxy that scores architectures during a search, and full training runs.

Example:
    >>> from nasgen.data import load_dataset
    >>> from nasgen.spec import load_spec
    >>> from nasgen.train import default_proxy, evaluate_proxy
    >>> result = evaluate_proxy(load_spec("efficientnet-b0"), load_dataset(), default_proxy("cpu"), seed=0)
    >>> result.val_top1  # doctest: +SKIP
    0.86

The recipes are declared in :mod:`nasgen.config`: :class:`TrainConfig` (the proxy's) and
:class:`FullTrainConfig` (a full run's, :func:`train`), both re-exported here. ``nasgen.run_training`` is
:func:`train` at the top level (``nasgen.train`` itself is this package).
"""

from nasgen.config import FullTrainConfig, TrainConfig
from nasgen.train._device import autocast_dtype, resolve_device
from nasgen.train._full import FullTrainResult, train
from nasgen.train._init import INHERIT, InitReport, inherit_stage_map, init_model
from nasgen.train._optim import make_optimizer, make_scheduler
from nasgen.train._proxy import (
    CPU_PROXY,
    GPU_PROXY,
    PROXY_FLOOR_PX,
    ProxyConfig,
    default_proxy,
    estimate_proxy_seconds,
    evaluate_proxy,
    proxy_data,
    proxy_resolution,
    proxy_resolution_for,
    proxy_split,
    zero_init_residual,
)
from nasgen.train._records import EpochSettings, StopTraining, TrainResult
from nasgen.train._trainer import Trainer, train_model
from nasgen.train._zero_cost import (
    ZERO_COST_SCORES,
    grad_norm,
    naswot,
    naswot_kernel,
    snip,
    synflow,
    zero_cost_batch,
    zero_cost_scores,
)
from nasgen.train.progressive import ProgressiveSchedule, StageSettings, load_schedule

__all__ = [
    "CPU_PROXY",
    "GPU_PROXY",
    "EpochSettings",
    "FullTrainConfig",
    "FullTrainResult",
    "INHERIT",
    "InitReport",
    "inherit_stage_map",
    "init_model",
    "ProgressiveSchedule",
    "ProxyConfig",
    "StageSettings",
    "StopTraining",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "autocast_dtype",
    "default_proxy",
    "evaluate_proxy",
    "load_schedule",
    "make_optimizer",
    "make_scheduler",
    "proxy_data",
    "proxy_resolution",
    "proxy_resolution_for",
    "proxy_split",
    "estimate_proxy_seconds",
    "PROXY_FLOOR_PX",
    "resolve_device",
    "train",
    "train_model",
    "zero_init_residual",
    "ZERO_COST_SCORES",
    "grad_norm",
    "naswot",
    "naswot_kernel",
    "snip",
    "synflow",
    "zero_cost_batch",
    "zero_cost_scores",
]


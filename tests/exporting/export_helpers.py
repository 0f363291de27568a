"""Helpers of the export tests: small architectures, "trained-like" weights and run directories.

An untrained network in eval mode shrinks its output towards zero (B0: logits ~1e-14 at 64 px), which
would let any absolute tolerance pass. ``calibrate`` gives a model the BatchNorm statistics of a real
forward pass, so eval outputs are O(1) and the round-trip tolerances mean something.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nasgen.cost import count_cost
from nasgen.nn import build_model
from nasgen.spec import ArchSpec, dump_yaml, load_spec, save_spec, spec_from_dict

SMALL_PX = 64


def tiny_spec(**changes) -> ArchSpec:
    """Every block variant at 32 px: Fused-MBConv e1 with SE (single conv), Fused-MBConv e4, MBConv e1 and
    e6 with SE, residuals and stride 2, grey input, 10 classes, hardswish."""
    data = {
        "name": "tiny-export",
        "in_channels": 1,
        "resolution_px": 32,
        "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
        "stages": [
            {
                "kind": "fused_mbconv",
                "num_layers": 2,
                "kernel_size": 3,
                "stride": 1,
                "expand_ratio": 1,
                "out_channels": 8,
                "se_ratio": 0.25,
            },
            {
                "kind": "fused_mbconv",
                "num_layers": 2,
                "kernel_size": 3,
                "stride": 2,
                "expand_ratio": 4,
                "out_channels": 16,
                "se_ratio": 0.0,
            },
            {
                "kind": "mbconv",
                "num_layers": 1,
                "kernel_size": 5,
                "stride": 1,
                "expand_ratio": 1,
                "out_channels": 16,
                "se_ratio": 0.25,
            },
            {
                "kind": "mbconv",
                "num_layers": 2,
                "kernel_size": 3,
                "stride": 2,
                "expand_ratio": 6,
                "out_channels": 24,
                "se_ratio": 0.25,
            },
        ],
        "head_channels": 64,
        "num_classes": 10,
        "dropout": 0.1,
        "drop_path_rate": 0.1,
        "activation": "hardswish",
        "bn_eps": 1e-3,
    }
    data.update(changes)
    return spec_from_dict(data)


def small(name: str) -> ArchSpec:
    """A reference architecture at 64 px: same layers and weights, cheap forward passes."""
    return load_spec(name).replace(resolution_px=SMALL_PX)


def calibrate(model: nn.Module, spec: ArchSpec, *, seed: int = 0, batch: int = 8) -> nn.Module:
    """Set every BatchNorm's running statistics to those of one training-mode batch; return the model in eval."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average: one batch gives exactly its statistics
        model.train()
        with torch.no_grad():
            model(torch.randn(batch, spec.in_channels, spec.resolution_px, spec.resolution_px))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return model.eval()


def trained_like(spec: ArchSpec, seed: int = 0) -> nn.Module:
    """``build_model(spec)`` with seeded weights and calibrated BatchNorm statistics, in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec)
    return calibrate(model, spec, seed=seed)


def write_training_dir(folder: Path, spec: ArchSpec, seed: int = 0) -> Path:
    """What ``nasgen train`` leaves: ``arch.yaml`` and ``weights.safetensors``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_spec(spec, folder / "arch.yaml")
    save_file(trained_like(spec, seed).state_dict(), str(folder / "weights.safetensors"))
    return folder


def trial_attrs(spec: ArchSpec, val_top1: float | None, *, feasible: bool = True) -> dict:
    """The user attributes nasgen's search records on a trial."""
    cost = count_cost(spec)
    attrs = {
        "spec_yaml": dump_yaml(spec),
        "hash": spec.content_hash(),
        "display": " ".join(spec.display()),
        "params": cost.params,
        "macs": cost.macs,
        "activation_bytes": cost.activation_bytes,
        "seed": 0,
        "feasible": feasible,
    }
    if val_top1 is not None:
        attrs["val_top1"] = val_top1
    return attrs


def make_run(folder: Path, trials: list[tuple[str, ArchSpec, float | None, dict]], *, directions=("maximize",)) -> Path:
    """A run directory like ``nasgen search`` writes: ``study.db`` (study named after the folder) and
    ``trials/<n>/arch.yaml``. ``trials`` holds ``(state, spec, value, extra_user_attrs)``."""
    import optuna
    from optuna.trial import TrialState, create_trial

    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=folder.name, storage=f"sqlite:///{folder / 'study.db'}", directions=list(directions)
    )
    for number, (state, spec, value, extra) in enumerate(trials):
        attrs = trial_attrs(spec, value if state == "COMPLETE" else None, feasible=extra.pop("feasible", True))
        attrs.update(extra)
        values = None
        if state == "COMPLETE":
            values = [value] if len(directions) == 1 else [value, float(attrs["macs"])]
        study.add_trial(create_trial(state=TrialState[state], values=values, user_attrs=attrs))
        save_spec(spec, folder / "trials" / str(number) / "arch.yaml")
    return folder

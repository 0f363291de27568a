"""One source of options: every setting is declared once, in nasgen.config, with its default; the API takes the
config models and the CLI reads its defaults and choices from them (a changed default cannot drift apart).

Each test enumerates every field of a config model, so a new setting fails here until it has a CLI option with
the same default and a help text, or is listed as an API-only setting.
"""

from __future__ import annotations

import inspect
import typing

import pytest
import typer.main

from nasgen.cli import app
from nasgen.config import PRUNERS, REWARDS, SAMPLERS, FullTrainConfig, SearchConfig, TrainConfig
from nasgen.search import search
from nasgen.train import train

# CLI option -> API name where the names differ (none since ``--objective`` became ``--reward``)
RENAMED: dict[str, str] = {}
# deprecated spellings kept as hidden options (``objective`` in Python is the stand-in scorer)
DEPRECATED_ALIASES = {"objective": "reward"}
# CLI options that build one API argument (the proxy recipe overrides) -> the TrainConfig field they set
PROXY_OVERRIDES = {
    "images_per_epoch": "images_per_epoch", "batch_size": "batch_size", "lr": "lr",
    "proxy_resolution": "resolution_px", "progressive": "progressive",
}  # fmt: skip
EMPTY_COLLECTIONS = {"enqueue", "scale_phi"}

# FullTrainConfig fields without a `nasgen train` option (set them from Python, or in a recipe file)
TRAIN_API_ONLY = {
    "momentum", "lr_step_epochs", "lr_step_gamma", "min_lr_ratio", "eval_batch_size", "images_per_epoch",
    "val_images", "channels_last", "bf16", "bn_momentum", "zero_init_residual", "bn_recalibration_images",
    "grad_clip_norm",
    # proxy-only fields, refused by FullTrainConfig (tests/config/test_settings.py)
    "scale_resolution_from_px", "dropout", "drop_path_rate", "progressive",
}  # fmt: skip
# `nasgen train` option -> FullTrainConfig field
TRAIN_RENAMED = {"ema": "ema_decay", "resolution": "resolution_px"}
# `nasgen train` options that are not recipe settings (inputs, the run directory, the device, data reading)
TRAIN_NOT_SETTINGS = {"arch", "data", "progressive", "schedule", "out", "device", "skip_empty_classes", "list_ignored"}


def _command(name):
    return typer.main.get_command(app).commands[name]


def _choices(param) -> tuple[str, ...]:
    descriptor = getattr(param, "type_descriptor", None)  # typer ≥ 0.20 keeps the Enum there
    if descriptor is not None:
        return tuple(member.value for member in descriptor.annotation)
    return tuple(param.type.choices)


def _field_default(model, name):
    field = model.model_fields[name]
    return None if field.is_required() else field.default


def test_search_cli_defaults_are_the_api_defaults():
    api = inspect.signature(search).parameters
    checked = 0
    for param in _command("search").params:
        if param.name in DEPRECATED_ALIASES:
            assert param.hidden and param.default is None and "Deprecated" in param.help, param.name
            continue
        if param.name == "budget":
            assert param.required and SearchConfig.model_fields["budget"].is_required()
            continue
        if param.name in PROXY_OVERRIDES:
            # unset on the CLI = the proxy recipe's own value
            assert param.default in (None, False), param.name
            assert PROXY_OVERRIDES[param.name] in TrainConfig.model_fields, param.name
            continue
        name = RENAMED.get(param.name, param.name)
        if name in SearchConfig.model_fields:
            default = _field_default(SearchConfig, name)
        else:
            assert name in api, f"--{param.name} has no API argument"
            default = api[name].default
        if param.name in EMPTY_COLLECTIONS:
            assert not default and not param.default, param.name
        else:
            assert param.default == default, f"--{param.name}: CLI {param.default!r}, API {default!r}"
        checked += 1
    assert checked >= 20


def test_every_search_setting_has_a_cli_option_with_help():
    options = {RENAMED.get(p.name, p.name): p for p in _command("search").params if p.name not in DEPRECATED_ALIASES}
    for name in SearchConfig.model_fields:
        assert name in options, f"SearchConfig.{name} has no `nasgen search` option"
        assert (options[name].help or "").strip(), f"--{options[name].name} has no help text"


def test_search_takes_the_config_plus_the_arguments_that_are_not_settings():
    api = inspect.signature(search).parameters
    assert "config" in api and api["config"].default is None
    # a setting is a SearchConfig field, never an argument of its own (budget: the positional shorthand)
    assert not (set(api) - {"budget"}) & set(SearchConfig.model_fields)
    assert api["settings"].kind is inspect.Parameter.VAR_KEYWORD


def test_search_cli_choices_are_the_registered_samplers_and_pruners():
    from nasgen.search.objective import OBJECTIVES
    from nasgen.search.samplers import N_OBJECTIVES, make_pruner, sampler_factory

    assert set(SAMPLERS) == set(N_OBJECTIVES)  # a factory for each name, and nothing more
    assert all(callable(sampler_factory(name)) for name in SAMPLERS)
    assert all(make_pruner(name, epochs=3, n_objectives=1) is not None for name in PRUNERS)
    assert tuple(OBJECTIVES) == REWARDS
    assert typing.get_args(SearchConfig.model_fields["sampler"].annotation) == SAMPLERS
    # the help of each choice option names every choice
    options = {RENAMED.get(p.name, p.name): p for p in _command("search").params if p.name not in DEPRECATED_ALIASES}
    for name, choices in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("reward", REWARDS)):
        for choice in choices:
            assert choice in options[name].help, f"--{options[name].name} help does not name {choice!r}"


def test_train_cli_defaults_help_and_choices_are_the_full_train_config():
    params = {p.name: p for p in _command("train").params}
    covered = set()
    for name, param in params.items():
        if name in TRAIN_NOT_SETTINGS:
            continue
        field = TRAIN_RENAMED.get(name, name)
        assert field in FullTrainConfig.model_fields, f"--{name} is not a FullTrainConfig setting"
        covered.add(field)
        assert (param.help or "").strip(), f"--{name} has no help text"
        default = param.default.value if hasattr(param.default, "value") else param.default
        if field == "epochs":
            assert param.required and FullTrainConfig.model_fields["epochs"].is_required()
        else:
            assert default == _field_default(FullTrainConfig, field), f"--{name}: CLI {default!r}"
        annotation = FullTrainConfig.model_fields[field].annotation
        if typing.get_origin(annotation) is typing.Literal:
            assert _choices(param) == typing.get_args(annotation), f"--{name} choices"
    missing = set(FullTrainConfig.model_fields) - covered - TRAIN_API_ONLY
    assert not missing, f"FullTrainConfig settings without a `nasgen train` option: {sorted(missing)}"


def test_train_takes_the_config_plus_the_arguments_that_are_not_settings():
    api = inspect.signature(train).parameters
    assert "config" in api and api["config"].default is None
    # `progressive` is the schedule argument (a bool, preset, file or schedule); FullTrainConfig refuses the
    # proxy's bool field of that name
    assert set(api) & set(FullTrainConfig.model_fields) == {"progressive"}
    assert api["settings"].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize(
    ("name", "full", "proxy"),
    [("warmup_epochs", 1.0, 0.3), ("label_smoothing", 0.1, 0.0), ("zero_init_residual", True, False),
     ("bn_recalibration_images", 2048, 0)],
)  # fmt: skip
def test_full_run_and_proxy_defaults_are_declared_once_each(name, full, proxy):
    assert FullTrainConfig.model_fields[name].default == full
    assert TrainConfig.model_fields[name].default == proxy

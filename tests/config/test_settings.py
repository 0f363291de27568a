"""nasgen.config: the settings models (defaults, units parsed once, errors that name the setting)."""

from __future__ import annotations

import pytest

from nasgen.config import FullTrainConfig, SearchConfig, TrainConfig, merge_settings
from nasgen.errors import BudgetError, SearchError, SpecError


def test_search_config_parses_units_once():
    config = SearchConfig(budget="400M", max_params="5M", max_memory="50M", max_latency="5ms",
                          max_step_time="0.3s", scale_phi=[1, 2])  # fmt: skip
    assert config.budget == 400_000_000 and config.max_params == 5_000_000 and config.max_memory == 50_000_000
    assert config.max_latency == pytest.approx(5.0) and config.max_step_time == pytest.approx(300.0)
    assert config.scale_phi == (1.0, 2.0)
    assert SearchConfig(budget=400_000_000) == SearchConfig(budget="400M")
    # replace() keeps the parsed values (a time in ms is not re-read as a bare number) and parses the new ones
    assert config.replace(seed=1) == config.model_copy(update={"seed": 1})
    assert config.replace(max_latency="2ms").max_latency == pytest.approx(2.0)
    with pytest.raises(BudgetError, match="give a unit"):
        config.replace(max_step_time=300)


def test_search_config_defaults():
    config = SearchConfig(budget="1G")
    assert (config.n_trials, config.timeout, config.sampler, config.pruner, config.seed) == (20, 600.0, "tpe", None, 0)
    assert (config.reward, config.workers, config.confirm, config.confirm_seeds) == ("accuracy", 1, 0, 3)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"budget": "400Q"}, BudgetError, "expected a count like 400M"),
        ({"max_params": "5Q"}, BudgetError, "max-params"),
        ({"max_latency": "-1ms"}, BudgetError, "max-latency: must be a positive time"),
        ({"sampler": "grid"}, SearchError, "sampler: expected one of tpe, random, nsga2, evolution, got 'grid'"),
        ({"pruner": "asha"}, SearchError, "pruner: expected one of none, median, hyperband, got 'asha'"),
        ({"reward": "flops"}, SearchError, "reward: expected one of accuracy, mnasnet, v2, got 'flops'"),
        ({"n_trials": 0}, SearchError, "n_trials: must be a positive integer, got 0"),
        ({"n_trials": True}, SearchError, "n_trials: must be a positive integer, got True"),
        ({"timeout": -5.0}, SearchError, r"timeout: must be a positive number of seconds, got -5.0"),
        ({"seed": "x"}, SpecError, "seed"),
        ({"n_trails": 5}, SpecError, "n_trails: unknown field"),
    ],
)
def test_search_config_errors_name_the_setting(changes, error, message):
    with pytest.raises(error, match=message):
        SearchConfig(**{"budget": "400M", **changes})
    with pytest.raises(error, match=message):
        SearchConfig(budget="400M").replace(**changes)


def test_search_config_needs_a_budget_and_is_frozen():
    with pytest.raises(SpecError, match="budget: required field is missing"):
        SearchConfig()
    config = SearchConfig(budget="400M")
    with pytest.raises(Exception):
        config.n_trials = 5  # type: ignore[misc]


def test_merge_settings_overrides_the_config_and_refuses_unknown_keywords():
    base = SearchConfig(budget="400M", n_trials=50)
    merged = merge_settings(SearchConfig, base, {"seed": 3}, caller="search")
    assert (merged.n_trials, merged.seed, merged.budget) == (50, 3, 400_000_000)
    assert merge_settings(SearchConfig, base, {}, caller="search") is base
    assert merge_settings(SearchConfig, None, {"budget": "1G"}, caller="search").budget == 1_000_000_000
    with pytest.raises(TypeError, match=r"search\(\) got an unexpected keyword argument 'n_trails'"):
        merge_settings(SearchConfig, base, {"n_trails": 5}, caller="search")
    with pytest.raises(TypeError, match="config must be a SearchConfig, got TrainConfig"):
        merge_settings(SearchConfig, TrainConfig(), {}, caller="search")  # type: ignore[arg-type]


def test_full_train_config_is_the_full_run_recipe():
    config = FullTrainConfig(epochs=4, lr=1e-3)
    assert isinstance(config, TrainConfig)
    assert (config.warmup_epochs, config.label_smoothing, config.zero_init_residual) == (1.0, 0.1, True)
    assert (config.bn_recalibration_images, config.resolution_px, config.seed) == (2048, None, 0)
    recipe = config.recipe(64, 1000)
    assert type(recipe) is TrainConfig
    assert (recipe.resolution_px, recipe.bn_recalibration_images, recipe.lr, recipe.epochs) == (64, 1000, 1e-3, 4)
    assert recipe.warmup_epochs == 1.0 and recipe.label_smoothing == 0.1
    assert config.recipe(64, 100_000).bn_recalibration_images == 2048


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "epochs: required field is missing"),
        ({"epochs": 2, "progressive": True}, "progressive is a proxy setting.*train\\(progressive=...\\)"),
        ({"epochs": 2, "dropout": 0.1}, "dropout is a proxy setting"),
        ({"epochs": 2, "scale_resolution_from_px": 224}, "scale_resolution_from_px is a proxy setting"),
        ({"epochs": 1, "warmup_epochs": 2.0}, r"warmup_epochs \(2.0\) exceeds epochs \(1\)"),
        ({"epochs": 2, "lr": -1.0}, "lr"),
        ({"epochs": 2, "loader_workers": -1}, "loader_workers"),
    ],
)
def test_full_train_config_errors(changes, message):
    with pytest.raises(SpecError, match=message):
        FullTrainConfig(**changes)


def test_train_config_constructor_error_is_a_spec_error():
    with pytest.raises(SpecError, match="lr"):
        TrainConfig(lr=-1.0)


def test_max_image_pixels_is_declared_once_for_both_and_defaults_to_pils_limit():
    from PIL import Image

    from nasgen.config import DEFAULT_MAX_IMAGE_PIXELS

    assert DEFAULT_MAX_IMAGE_PIXELS == Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's default, written out
    for model, required in ((FullTrainConfig, {"epochs": 1}), (SearchConfig, {"budget": "400M"})):
        assert model(**required).max_image_pixels == DEFAULT_MAX_IMAGE_PIXELS
        config = model(**required, max_image_pixels="2G")  # a count with its unit, parsed once
        assert config.max_image_pixels == 2_000_000_000 and config.replace(seed=1).max_image_pixels == 2 * 10**9
        with pytest.raises(BudgetError, match=r"max_image_pixels: must be positive, got '0'"):
            model(**required, max_image_pixels="0")
    # the trainer's recipe is not about decoding: the data-reading settings stay out of it
    assert "max_image_pixels" not in TrainConfig.model_fields
    assert FullTrainConfig(epochs=1, max_image_pixels="1G").recipe(32, 100).resolution_px == 32

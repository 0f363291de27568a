"""A resumed study must run on the same search space; nsga2 refuses an explicit pruner (issue 18)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nasgen.cost import count_cost
from nasgen.errors import SearchError
from nasgen.search import search
from nasgen.space import Choice, dimension_to_data

BUDGET = 1_000_000


def _score(spec):
    return count_cost(spec).macs / 1e6


def _with_stage(space, index, **changes):
    stages = list(space.stages)
    stages[index] = stages[index].model_copy(update=changes)
    return space.model_copy(update={"stages": tuple(stages)})


def test_space_hash_and_dimensions_are_stored_in_the_study(space, tmp_path):
    result = search(BUDGET, space=space, objective=_score, n_trials=3, seed=0, out=tmp_path, timeout=None)
    attrs = result.study.user_attrs
    assert attrs["space_hash"] == space.content_hash()
    dims = json.loads(attrs["space_dimensions"])
    assert dims["stages.1.expand_ratio"] == [3, 6]
    assert dims["stages.0.num_layers"] == {"low": 1, "high": 2, "step": 1}
    assert dims == {label: dimension_to_data(dim) for label, dim in space.all_dimensions().items()}
    # the same space (another name) resumes
    again = search(BUDGET, space=space.model_copy(update={"name": "tiny"}), objective=_score, n_trials=5, seed=0,
                   out=tmp_path, timeout=None)
    assert len(again.study.trials) == 5


def test_a_changed_choice_is_refused_on_resume_naming_the_dimension(space, tmp_path):
    search(BUDGET, space=space, objective=_score, n_trials=2, seed=0, out=tmp_path, timeout=None)
    changed = _with_stage(space, 1, expand_ratio=Choice([3, 6, 8]))
    with pytest.raises(SearchError) as info:
        search(BUDGET, space=changed, objective=_score, n_trials=4, seed=0, out=tmp_path, timeout=None)
    assert str(info.value) == (
        "study 'tiny-1M' was created with another search space: stages.1.expand_ratio: choices (3, 6) now "
        "(3, 6, 8); use another --study-name or --out to start a new study"
    )


def test_a_new_kernel_and_a_fixed_value_change_are_both_named(space, tmp_path):
    search(BUDGET, space=space, objective=_score, n_trials=2, seed=0, out=tmp_path, timeout=None)
    changed = _with_stage(space, 2, kernel_size=Choice([3, 5, 7]))
    changed = _with_stage(changed, 0, out_channels=Choice([8, 16]))
    with pytest.raises(SearchError) as info:
        search(BUDGET, space=changed, objective=_score, n_trials=4, seed=0, out=tmp_path, timeout=None)
    message = str(info.value)
    assert "stages.0.out_channels: fixed 8 now choices (8, 16)" in message
    assert "stages.2.kernel_size: choices (3, 5) now (3, 5, 7)" in message


def test_space_num_classes_change_is_caught_by_the_hash(space, tmp_path):
    search(BUDGET, space=space, objective=_score, n_trials=2, seed=0, out=tmp_path, timeout=None)
    with pytest.raises(SearchError, match="another search space \\(same dimensions; the space's in_channels or"):
        search(BUDGET, space=space.model_copy(update={"num_classes": 7}), objective=_score, n_trials=4, seed=0,
               out=tmp_path, timeout=None)


def test_nsga2_with_an_explicit_pruner_is_refused(space, tmp_path):
    with pytest.raises(SearchError) as info:
        search(BUDGET, space=space, objective=_score, n_trials=2, sampler="nsga2", pruner="median", out=tmp_path)
    assert str(info.value).startswith("pruner 'median' needs a single-objective sampler: NSGA-II optimizes")
    assert not (tmp_path / "study.db").exists()


def test_nsga2_without_a_pruner_runs_and_tpe_defaults_to_median(space, tmp_path):
    import optuna

    result = search(BUDGET, space=space, objective=_score, n_trials=3, sampler="nsga2", out=tmp_path / "a",
                    timeout=None)
    assert isinstance(result.study.pruner, optuna.pruners.NopPruner)
    result = search(BUDGET, space=space, objective=_score, n_trials=2, out=tmp_path / "b", timeout=None)
    assert isinstance(result.study.pruner, optuna.pruners.MedianPruner)


def test_cli_nsga2_with_pruner_median_is_one_error_line(tmp_path):
    from nasgen.cli import app

    result = CliRunner().invoke(app, ["search", "--budget", "400M", "--sampler", "nsga2", "--pruner", "median",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: pruner 'median' needs a single-objective sampler")

"""Space → Optuna: labels are parameter names, removed stages sample nothing, enqueue params round-trip."""

from __future__ import annotations

import optuna
import pytest

from nasgen.search import suggest_params, suggestable_params
from nasgen.space import load_space
from nasgen.spec import load_spec


def test_params_are_labels_and_freeze(space):
    params = {
        "resolution_px": 48,
        "stages.0.num_layers": 2,
        "stages.0.kernel_size": 5,
        "stages.1.expand_ratio": 6,
        "stages.1.out_channels": 24,
        "stages.2.present": True,
        "stages.2.kernel_size": 3,
    }
    got = suggest_params(optuna.trial.FixedTrial(params), space)
    assert got == params
    spec = space.freeze(got)
    assert spec.display() == ["ir_r2_k5_s1_e1_c8_se0.25", "ir_r1_k3_s2_e6_c24_se0.25", "ir_r1_k3_s2_e6_c32_se0.25"]


def test_removed_stage_samples_nothing_else(space):
    # FixedTrial raises if asked for a parameter it was not given: stages.2.kernel_size must not be asked.
    params = {
        "resolution_px": 32,
        "stages.0.num_layers": 1,
        "stages.0.kernel_size": 3,
        "stages.1.expand_ratio": 3,
        "stages.1.out_channels": 16,
        "stages.2.present": False,
    }
    got = suggest_params(optuna.trial.FixedTrial(params), space)
    assert got == params
    assert len(space.freeze(got).stages) == 2


def test_study_parameters_follow_the_space(space):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    study.optimize(lambda t: float(len(suggest_params(t, space))), n_trials=30)
    labels = set(space.dimensions())
    for trial in study.trials:
        assert set(trial.params) <= labels
        removed = trial.params["stages.2.present"] is False
        assert ("stages.2.kernel_size" in trial.params) is not removed
    assert {t.params["stages.2.present"] for t in study.trials} == {True, False}


def test_suggestable_params_of_b0_reproduce_b0():
    space = load_space("efficientnet-v1")
    b0 = load_spec("efficientnet-b0")
    params = suggestable_params(space, space.params_of(b0))
    assert len(params) == 41  # every dimension of the space is active for B0 (both optional stages present)
    frozen = space.freeze(suggest_params(optuna.trial.FixedTrial(params), space))
    assert frozen.content_hash() == b0.content_hash()


def test_unknown_dimension_type_is_a_bug():
    class Weird:
        pass

    class Space:
        def dimensions(self):
            return {"x": Weird()}

        def is_active(self, label, params):
            return True

    with pytest.raises(TypeError, match="x: no Optuna suggester for dimension type Weird"):
        suggest_params(optuna.trial.FixedTrial({}), Space())

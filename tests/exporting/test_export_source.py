"""SOURCE resolution: built-in names, arch files, training directories and search run directories."""

from __future__ import annotations

import optuna
import pytest
from export_helpers import make_run, tiny_spec, write_training_dir

from nasgen.errors import ExportError, SpecError
from nasgen.exporting import parse_trial, resolve_source
from nasgen.spec import load_spec, save_spec


def _variants():
    """Three distinct tiny architectures (different head widths)."""
    return [tiny_spec(head_channels=width, name=None) for width in (32, 48, 64)]


def test_builtin_name_and_file(tmp_path):
    source = resolve_source("efficientnet-b0")
    assert (source.kind, source.location, source.weights_path) == ("builtin", "efficientnet-b0", None)
    assert source.spec == load_spec("efficientnet-b0")
    path = save_spec(tiny_spec(), tmp_path / "arch.yaml")
    source = resolve_source(path)
    assert source.kind == "file" and source.spec == tiny_spec()
    assert source.describe() == f"file {path}"


def test_training_directory_brings_its_weights(tmp_path):
    folder = write_training_dir(tmp_path / "train-out", tiny_spec())
    source = resolve_source(folder)
    assert source.kind == "directory"
    assert source.weights_path == folder / "weights.safetensors"
    assert source.spec == tiny_spec()


def test_run_best_is_the_feasible_trial_with_highest_val_top1(tmp_path):
    a, b, c = _variants()
    run = make_run(
        tmp_path / "tiny-1M",
        [
            ("COMPLETE", a, 0.61, {}),
            ("COMPLETE", b, float("-inf"), {"feasible": False, "infeasible": "MACs 2.0M > budget 1.0M"}),
            ("COMPLETE", c, 0.74, {}),
            ("COMPLETE", c, 0.74, {"reused_from": 2}),
            ("PRUNED", a, None, {}),
        ],
    )
    source = resolve_source(run)
    assert (source.kind, source.study, source.trial, source.trial_state) == ("run", "tiny-1M", 2, "COMPLETE")
    assert source.spec == c and source.score == pytest.approx(0.74)
    assert source.metrics["val_top1"] == pytest.approx(0.74) and source.metrics["macs"] > 0
    assert source.weights_path is None
    assert source.describe() == f"study 'tiny-1M', trial 2 of run {run}"


def test_ties_go_to_fewer_macs_then_the_earlier_trial(tmp_path):
    small, _, large = _variants()
    run = make_run(tmp_path / "ties", [("COMPLETE", large, 0.5, {}), ("COMPLETE", small, 0.5, {})])
    assert resolve_source(run).trial == 1


def test_trial_number_and_its_weights(tmp_path):
    a, b, _ = _variants()
    run = make_run(tmp_path / "run", [("COMPLETE", a, 0.9, {}), ("PRUNED", b, None, {})])
    write_training_dir(run / "trials" / "1", b)  # proxy weights kept for trial 1
    (run / "trials" / "1" / "arch.yaml").unlink()
    source = resolve_source(run, trial="1")
    assert (source.trial, source.trial_state, source.score) == (1, "PRUNED", None)
    assert source.spec == b and source.weights_path == run / "trials" / "1" / "weights.safetensors"


def test_arch_yaml_is_the_fallback_when_the_trial_has_no_spec_attribute(tmp_path):
    a, b, _ = _variants()
    run = make_run(tmp_path / "run", [("COMPLETE", a, 0.9, {"spec_yaml": 42})])
    save_spec(b, run / "trials" / "0" / "arch.yaml")
    assert resolve_source(run, trial=0).spec == b
    (run / "trials" / "0" / "arch.yaml").unlink()
    with pytest.raises(ExportError, match=r"trial 0: no architecture recorded"):
        resolve_source(run, trial=0)


def test_multi_objective_best_is_the_most_accurate_pareto_trial(tmp_path):
    a, b, c = _variants()
    run = make_run(
        tmp_path / "nsga",
        [("COMPLETE", a, 0.5, {}), ("COMPLETE", c, 0.8, {}), ("COMPLETE", b, 0.7, {})],
        directions=("maximize", "minimize"),
    )
    assert resolve_source(run).trial == 1


def test_a_study_not_written_by_nasgen_uses_optunas_best_trial(tmp_path):
    from optuna.trial import TrialState, create_trial

    a, b, _ = _variants()
    study = optuna.create_study(study_name="x", storage=f"sqlite:///{tmp_path / 'study.db'}", direction="minimize")
    for value, spec in ((0.3, a), (0.1, b)):
        study.add_trial(
            create_trial(state=TrialState.COMPLETE, value=value, user_attrs={"spec_yaml": spec.model_dump_json()})
        )
    source = resolve_source(tmp_path)
    assert (source.study, source.trial, source.spec, source.score) == ("x", 1, b, 0.1)


def test_no_completed_trial(tmp_path):
    a, b, _ = _variants()
    run = make_run(
        tmp_path / "early",
        [("RUNNING", a, None, {}), ("FAIL", b, None, {}), ("COMPLETE", b, float("-inf"), {"feasible": False})],
    )
    with pytest.raises(ExportError) as info:
        resolve_source(run)
    message = str(info.value)
    assert "has no completed, feasible trial yet (1 failed, 1 infeasible, 1 running)" in message
    assert "--trial N" in message


def test_unknown_trial_number(tmp_path):
    run = make_run(tmp_path / "run", [("COMPLETE", spec, 0.5, {}) for spec in _variants()])
    with pytest.raises(ExportError, match=r"trial 7 does not exist in study 'run' \(trials 0-2\)"):
        resolve_source(run, trial=7)


@pytest.mark.parametrize("bad", ["first", "-1", "1.5", True])
def test_bad_trial_values(bad):
    with pytest.raises(ExportError, match="trial: expected 'best' or a trial number"):
        parse_trial(bad)


def test_trial_needs_a_run_directory(tmp_path):
    with pytest.raises(ExportError, match="trial 3 was asked for, but 'efficientnet-b0' is not a search run"):
        resolve_source("efficientnet-b0", trial=3)


def test_several_studies_and_none_named_like_the_directory(tmp_path):
    run = make_run(tmp_path / "one", [("COMPLETE", tiny_spec(), 0.5, {})])
    optuna.create_study(study_name="other", storage=f"sqlite:///{run / 'study.db'}")
    assert resolve_source(run).study == "one"  # the directory's name wins
    renamed = run.rename(tmp_path / "renamed")
    with pytest.raises(ExportError, match=r"several studies \(one, other\) and none is named 'renamed'"):
        resolve_source(renamed)


def test_a_directory_that_is_neither(tmp_path):
    with pytest.raises(ExportError, match="holds neither study.db .* nor arch.yaml"):
        resolve_source(tmp_path)


def test_run_on_a_shared_storage_points_to_best_yaml_and_trial_directories(tmp_path):
    save_spec(tiny_spec(), tmp_path / "best.yaml")
    write_training_dir(tmp_path / "trials" / "3", tiny_spec())  # what --save-weights leaves there
    with pytest.raises(ExportError, match=r"shared storage export .*best.yaml' or a trials/<n> directory"):
        resolve_source(tmp_path)
    assert resolve_source(tmp_path / "best.yaml").spec == tiny_spec()
    trial_dir = resolve_source(tmp_path / "trials" / "3")
    assert trial_dir.kind == "directory" and trial_dir.weights_path.name == "weights.safetensors"


def test_a_corrupt_study_database(tmp_path):
    (tmp_path / "study.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ExportError, match="cannot read the study database"):
        resolve_source(tmp_path)


def test_unknown_name_is_a_spec_error():
    with pytest.raises(SpecError, match="neither a file nor a built-in architecture"):
        resolve_source("efficientnet-b99")

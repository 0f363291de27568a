"""Progressive learning schedule against EfficientNetV2 §4 Algorithm 1 (V2-S's Table 6 settings)."""

from __future__ import annotations

import pytest

from nasgen.errors import SpecError, TrainError
from nasgen.spec import load_spec, loads_spec
from nasgen.train.progressive import (
    LEARNING_FLOOR_PX,
    PRESETS,
    REGULARIZATION_FULL_EPOCHS,
    ProgressiveSchedule,
    default_num_stages,
    load_schedule,
    loads_schedule,
    schedule_from_dict,
    total_stride,
)

V2S = dict(num_stages=4, size_start_px=128, size_end_px=300)


def test_v2s_preset_follows_algorithm_1():
    schedule = ProgressiveSchedule.efficientnetv2_s()
    stages = schedule.stages(total_epochs=350)
    # S_i = 128 + 172·i/3 = 128, 185.33, 242.67, 300 → nearest integer, halves up.
    assert [s.image_size_px for s in stages] == [128, 185, 243, 300]
    assert [s.randaug_magnitude for s in stages] == pytest.approx([5.0, 25 / 3, 35 / 3, 15.0], abs=1e-12)
    assert [s.randaug_magnitude_bin for s in stages] == [5, 8, 12, 15]
    assert [s.mixup_alpha for s in stages] == [0.0, 0.0, 0.0, 0.0]
    assert [s.dropout for s in stages] == pytest.approx([0.1, 0.5 / 3, 0.7 / 3, 0.3], abs=1e-12)
    assert stages[0].dropout == 0.1 and stages[-1].dropout == 0.3  # endpoints exact, not 0.30000000000000004
    # 350 epochs in 4 stages: boundaries ⌊i·350/4⌋ = 0, 87, 175, 262, 350.
    assert [(s.first_epoch, s.end_epoch) for s in stages] == [(0, 87), (87, 175), (175, 262), (262, 350)]
    assert [s.stage for s in stages] == [0, 1, 2, 3]
    assert all(s.num_stages == 4 for s in stages)


def test_preset_by_name_equals_factory():
    assert load_schedule("efficientnetv2-s") == ProgressiveSchedule.efficientnetv2_s()
    assert set(PRESETS) == {"efficientnetv2-s"}


@pytest.mark.parametrize(
    ("epochs", "lengths"),
    [(4, [1, 1, 1, 1]), (8, [2, 2, 2, 2]), (10, [2, 3, 2, 3]), (11, [2, 3, 3, 3]), (13, [3, 3, 3, 4])],
)
def test_epoch_split_spreads_the_remainder(epochs, lengths):
    stages = ProgressiveSchedule(**V2S).stages(epochs)
    assert [len(s.epochs) for s in stages] == lengths
    assert stages[0].first_epoch == 0 and stages[-1].end_epoch == epochs
    for before, after in zip(stages, stages[1:]):
        assert before.end_epoch == after.first_epoch


@pytest.mark.parametrize("epochs", [4, 5, 7, 10, 11, 13, 350])
def test_for_epoch_agrees_with_stage_ranges(epochs):
    schedule = ProgressiveSchedule(**V2S)
    for stage in schedule.stages(epochs):
        for epoch in stage.epochs:
            assert schedule.for_epoch(epoch, epochs) == stage


def test_for_epoch_v2s_10_epochs():
    schedule = ProgressiveSchedule.efficientnetv2_s()
    sizes = [schedule.for_epoch(e, 10).image_size_px for e in range(10)]
    assert sizes == [128, 128, 185, 185, 185, 243, 243, 300, 300, 300]


def test_size_multiple_rounds_to_nearest_multiple():
    schedule = ProgressiveSchedule(num_stages=4, size_start_px=128, size_end_px=304, size_multiple=8)
    # 128 + 176·i/3 = 128, 186.67, 245.33, 304 → multiples of 8: 184 (186.67/8 = 23.33), 248 (30.67).
    assert [s.image_size_px for s in schedule.stages(4)] == [128, 184, 248, 304]


def test_halves_round_up():
    schedule = ProgressiveSchedule(num_stages=3, size_start_px=32, size_end_px=33, randaug_magnitude=(0, 5))
    stages = schedule.stages(3)
    assert [s.image_size_px for s in stages] == [32, 33, 33]  # 32.5 → 33
    assert [s.randaug_magnitude_bin for s in stages] == [0, 3, 5]  # 2.5 → 3


def test_apply_dropout_false_keeps_the_specs_dropout():
    schedule = ProgressiveSchedule(**V2S, apply_dropout=False)
    assert [s.dropout for s in schedule.stages(4)] == [None, None, None, None]


def test_mixup_interpolates():
    schedule = ProgressiveSchedule(**V2S, mixup_alpha=(0.0, 0.6))
    assert [s.mixup_alpha for s in schedule.stages(4)] == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_decreasing_regularization_is_allowed():
    schedule = ProgressiveSchedule(**V2S, dropout=(0.3, 0.0))
    assert [s.dropout for s in schedule.stages(4)] == pytest.approx([0.3, 0.2, 0.1, 0.0])


@pytest.mark.parametrize(
    ("changes", "path", "needle"),
    [
        ({"size_start_px": 301}, "size_end_px", "must be at least size_start_px 301"),
        ({"num_stages": 1}, "num_stages", "at least 2"),
        ({"num_stages": 0}, "num_stages", "got 0"),
        ({"num_stages": 2.0}, "num_stages", "valid integer"),
        ({"size_start_px": 0}, "size_start_px", "positive integer, got 0"),
        ({"randaug_magnitude": (5, 31)}, "randaug_magnitude", "0..30"),
        ({"randaug_magnitude": (-1, 15)}, "randaug_magnitude", "got [-1.0, 15.0]"),
        ({"randaug_magnitude": (5, 15), "randaug_bins": 11}, "randaug_magnitude", "0..10"),
        ({"dropout": (0.1, 1.0)}, "dropout", "[0, 1), got [0.1, 1.0]"),
        ({"dropout": (-0.1, 0.3)}, "dropout", "[0, 1)"),
        ({"dropout": [0.1]}, "dropout", "pair"),
        ({"dropout": "0.1"}, "dropout", "valid tuple"),
        ({"mixup_alpha": (0.0, -0.2)}, "mixup_alpha", ">= 0"),
        ({"mixup_alpha": (0.0, float("inf"))}, "mixup_alpha", "finite"),
        ({"size_multiple": 8}, "size_multiple", "size_end_px 300 is not a multiple"),
        ({"randaug_num_ops": -1}, "randaug_num_ops", "got -1"),
        ({"image_size": 3}, "image_size", "unknown field"),
    ],
)
def test_bad_fields_raise_spec_error(changes, path, needle):
    with pytest.raises(SpecError) as info:
        ProgressiveSchedule(**{**V2S, **changes})
    assert info.value.path == path
    assert needle in str(info.value)


def test_more_stages_than_epochs():
    schedule = ProgressiveSchedule.efficientnetv2_s()
    with pytest.raises(TrainError, match="4 stages but training has only 3 epoch"):
        schedule.stages(3)
    with pytest.raises(TrainError, match="4 stages"):
        schedule.for_epoch(0, 2)


@pytest.mark.parametrize("epoch", [-1, 8, 1.0, True])
def test_bad_epoch(epoch):
    with pytest.raises(TrainError, match="epoch must be an integer in 0..7"):
        ProgressiveSchedule.efficientnetv2_s().for_epoch(epoch, 8)


@pytest.mark.parametrize("stage", [-1, 4])
def test_bad_stage(stage):
    with pytest.raises(TrainError, match=r"stage must be an integer in 0..3, got"):
        ProgressiveSchedule.efficientnetv2_s().stage_settings(stage, 8)


@pytest.mark.parametrize("epochs", [0, -3, 2.5])
def test_bad_total_epochs(epochs):
    with pytest.raises(TrainError, match="epochs must be a positive integer"):
        ProgressiveSchedule.efficientnetv2_s().stages(epochs)


def test_resolution_the_architecture_cannot_take():
    spec = load_spec("efficientnet-b0")
    assert total_stride(spec) == 32
    ProgressiveSchedule(num_stages=2, size_start_px=32, size_end_px=64).check_architecture(spec)
    with pytest.raises(TrainError, match="size_start_px 24 is below the total stride 32 of architecture"):
        ProgressiveSchedule(num_stages=2, size_start_px=24, size_end_px=64).check_architecture(spec)


def test_for_spec_scales_v2s_to_the_architecture():
    b0 = load_spec("efficientnet-b0")  # 224 px, total stride 32
    schedule = ProgressiveSchedule.for_spec(b0)
    assert (schedule.size_start_px, schedule.size_end_px) == (96, 224)  # 224·128/300 = 95.57 → 96
    assert [s.image_size_px for s in schedule.stages(4)] == [96, 139, 181, 224]
    assert schedule.dropout == (0.1, 0.3) and schedule.randaug_magnitude == (5.0, 15.0)
    small = ProgressiveSchedule.for_spec(b0.replace(resolution_px=48), num_stages=2)
    assert (small.size_start_px, small.size_end_px) == (32, 48)  # 20.5 is clamped to the stride 32
    small.check_architecture(b0)


# -- the rule --progressive uses (issue 20) ------------------------------------------------------
STRIDE_8 = """\
name: stride-8
in_channels: 1
resolution_px: 28
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24}
head_channels: 32
num_classes: 10
"""


def _summary(schedule, epochs):
    return (
        [s.image_size_px for s in schedule.stages(epochs)], schedule.dropout, schedule.randaug_magnitude,
        schedule.randaug_num_ops, schedule.mixup_alpha,
    )  # fmt: skip


def test_for_run_picks_the_schedule_from_resolution_data_size_and_epochs():
    assert (LEARNING_FLOOR_PX, REGULARIZATION_FULL_EPOCHS) == (16, 100)
    b0 = load_spec("efficientnet-b0")  # 224 px, total stride 32
    # The paper's budget: V2-S's sizes ratio and its full regularization.
    long = ProgressiveSchedule.for_run(b0.replace(resolution_px=300), epochs=350, data_px=300)
    assert long == ProgressiveSchedule.efficientnetv2_s()
    # B0 at 224 px on 28-px data for 4 epochs: sizes 96 → 224 (V2-S's ratio), regularization scaled by 4/100:
    # RandAugment would end at 0.6 (< 1.5) so it is off, dropout 0.004 → 0.012.
    # Two stages of two epochs (a stage gets two epochs or more where the run allows).
    short = ProgressiveSchedule.for_run(b0, epochs=4, data_px=28)
    assert _summary(short, 4) == ([96, 224], (0.004, 0.012), (0.2, 0.6), 0, (0.0, 0.0))
    assert [(s.first_epoch, s.end_epoch) for s in short.stages(4)] == [(0, 2), (2, 4)]
    # B0 at 64 px (the issue's command): 64·128/300 = 27.3 is raised to the total stride 32.
    issue = ProgressiveSchedule.for_run(b0.replace(resolution_px=64), epochs=4, data_px=28)
    assert [s.image_size_px for s in issue.stages(4)] == [32, 64]
    # M = epochs // 2 within [2, 4]: 3 epochs → 2 stages, 6 → 3, 7 → 3, 8 and more → 4 (the paper's).
    for epochs, stages in ((2, 2), (3, 2), (5, 2), (6, 3), (7, 3), (8, 4), (350, 4)):
        assert ProgressiveSchedule.for_run(b0, epochs=epochs, data_px=28).num_stages == stages, epochs
        assert default_num_stages(epochs) == stages
    assert default_num_stages(1) == 1  # the proxy's one-epoch recipe: one stage
    assert [s.image_size_px for s in ProgressiveSchedule.for_run(b0, epochs=8, data_px=28).stages(8)] == [
        96, 139, 181, 224]
    # 30 epochs: 0.3 of V2-S's regularization, RandAugment on (end magnitude 4.5).
    mid = ProgressiveSchedule.for_run(b0.replace(resolution_px=64), epochs=30, data_px=28)
    assert _summary(mid, 30)[1:4] == ((0.03, 0.09), (1.5, 4.5), 2)
    # A stride-8 net at its 28 px for 2 epochs: 28·128/300 = 11.9 is below the learning floor 16.
    small = loads_spec(STRIDE_8, file="stride-8.yaml")
    assert _summary(ProgressiveSchedule.for_run(small, epochs=2, data_px=28), 2)[0] == [16, 28]
    # Data smaller than the floor: the floor is the data's own size (10 px); streamed data (size unknown): 16.
    assert ProgressiveSchedule.for_run(small.replace(resolution_px=20), epochs=3, data_px=10).size_start_px == 10
    assert ProgressiveSchedule.for_run(small.replace(resolution_px=20), epochs=3).size_start_px == 16
    # A final size at or below the floor: one size throughout, only regularization could progress.
    assert ProgressiveSchedule.for_run(small.replace(resolution_px=12), epochs=2, data_px=28).size_start_px == 12
    assert ProgressiveSchedule.for_run(b0, epochs=10, data_px=28, num_stages=2).num_stages == 2
    with pytest.raises(TrainError, match="at least 2 epochs"):
        ProgressiveSchedule.for_run(b0, epochs=1)


# -- YAML ----------------------------------------------------------------------------------------
GOOD_YAML = """\
# V2-S, with mixup
num_stages: 4
size_start_px: 128
size_end_px: 300
dropout: [0.1, 0.3]
randaug_magnitude: [5, 15]
mixup_alpha: [0, 0.2]
"""


def test_yaml_schedule(tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text(GOOD_YAML)
    schedule = load_schedule(path)
    assert schedule == ProgressiveSchedule.efficientnetv2_s().model_copy(update={"mixup_alpha": (0.0, 0.2)})
    assert load_schedule(str(path)) == schedule
    assert schedule_from_dict({"num_stages": 2, "size_start_px": 8, "size_end_px": 16}).num_stages == 2


@pytest.mark.parametrize(
    ("text", "line", "path", "needle"),
    [
        (GOOD_YAML.replace("size_end_px: 300", "size_end_px: 100"), 4, "size_end_px", "got 100"),
        (GOOD_YAML.replace("[5, 15]", "[5, 40]"), 6, "randaug_magnitude", "0..30"),
        (GOOD_YAML.replace("dropout: [0.1, 0.3]", "dropout: [0.1, 1.5]"), 5, "dropout", "[0, 1)"),
        (GOOD_YAML.replace("mixup_alpha", "mixup"), 7, "mixup", "unknown field"),
        (GOOD_YAML.replace("num_stages: 4", "num_stages: four"), 2, "num_stages", "'four'"),
    ],
)
def test_yaml_errors_name_file_line_and_path(tmp_path, text, line, path, needle):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(SpecError) as info:
        load_schedule(file)
    error = info.value
    assert (error.file, error.line, error.path) == (str(file), line, path)
    assert needle in str(error)
    assert str(error).startswith(f"{file}, line {line}: {path}: ")


def test_yaml_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"s.yaml, line 3: YAML syntax error"):
        loads_schedule("num_stages: 4\nsize_start_px: [1\nsize_end_px: 2\n", file="s.yaml")
    with pytest.raises(SpecError, match="no such file"):
        load_schedule(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="neither a schedule file nor a preset"):
        load_schedule("efficientnetv2-q")
    with pytest.raises(SpecError, match="expected a mapping"):
        loads_schedule("- 1\n- 2\n", file="list.yaml")

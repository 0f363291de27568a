"""Latency lookup tables: parts, cache round trip and key, prediction = sum of parts, the CLI's keys."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import LatencyTable, Timing, calibrate, device_key, parts_of, predict_latency
from nasgen.errors import SpecError
from nasgen.nn import latency_table, measure_latency
from nasgen.spec import load_spec, spec_from_dict

TINY = {
    "name": "tiny",
    "in_channels": 1,
    "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 2, "out_channels": 8},
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 2,
         "out_channels": 16, "se_ratio": 0.25},
    ],
    "head_channels": 32,
    "num_classes": 10,
}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_parts_of_b0_follow_the_network():
    parts = parts_of(load_spec("efficientnet-b0"))
    assert [p.name for p in parts[:3]] == ["stem", "stages.0.0", "stages.1.0"] and parts[-1].name == "head"
    assert len(parts) == 1 + 16 + 1
    sizes = {p.name: (p.in_channels, p.size_px, p.stride) for p in parts}
    assert sizes["stem"] == (3, 224, 1) and sizes["stages.0.0"] == (32, 112, 1)
    assert sizes["stages.1.0"] == (16, 112, 2) and sizes["stages.6.0"] == (192, 7, 1) and sizes["head"] == (320, 7, 1)
    keys = {p.name: p.key for p in parts}
    assert keys["stages.5.1"] == keys["stages.5.2"] == keys["stages.5.3"]  # same shape: one table entry
    assert keys["stages.5.0"] != keys["stages.5.1"]  # stride and input differ
    assert len({p.key for p in parts}) == 14


def test_table_round_trip_and_key(cache):
    spec = spec_from_dict(TINY)
    table = latency_table("cpu")
    first = predict_latency(spec, table)
    assert first.measured_now == len({p.key for p in parts_of(spec)}) == 5  # stem, 3 distinct blocks, head
    assert table.path.is_file() and table.path.parent == cache / "latency"
    again = latency_table("cpu")
    assert again.entries == table.entries
    second = predict_latency(spec, again)
    assert second.measured_now == 0 and second.total_ms == first.total_ms
    # prediction = the sum of its parts (times the calibration factor, 1 until calibrated)
    assert first.total_ms == pytest.approx(sum(ms for _, ms in first.parts)) and first.factor == 1.0
    again.entries["factor|infer|b1"] = 1.5
    assert predict_latency(spec, again).total_ms == pytest.approx(1.5 * first.parts_ms)
    # another thread count is another table
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads != 1 else 2)
        other = latency_table("cpu")
    finally:
        torch.set_num_threads(threads)
    assert other.path != table.path and other.entries == {}


class _KnownTimer:
    """A LatencyTimer of known times: a part takes 1 ms per input channel, a network 1.5x the sum of its parts;
    each timing claims 0.5 s of wall time (under RETIME_BELOW_S: every new part is timed twice)."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, int, str]] = []
        self.networks: list[tuple[str, str, int]] = []

    def time_part(self, spec, part, mode, batch, key):
        self.parts.append((part.name, mode, batch, key["device_name"]))
        return Timing(float(part.in_channels), 0.5, 3)

    def time_network(self, spec, mode, batch, resolution_px, key):
        self.networks.append((spec.name, mode, batch))
        return Timing(1.5 * sum(p.in_channels for p in parts_of(spec, resolution_px)), 0.5, 3)


def test_the_table_measures_through_the_timer_it_is_given(tmp_path):
    """nasgen.cost builds no module: the table's parts and calibrate's networks are timed by its timer."""
    spec = spec_from_dict(TINY)
    large = spec_from_dict({**TINY, "name": "large", "stages": TINY["stages"] + [{**TINY["stages"][1], "num_layers": 3}]})
    timer = _KnownTimer()
    key = {"device": "cpu", "device_name": "known", "torch": "0", "threads": 1, "dtype": "float32",
           "channels_last": True}
    table = LatencyTable(key, timer, folder=tmp_path)
    prediction = predict_latency(spec, table)
    parts = parts_of(spec)
    assert prediction.parts == tuple((p.name, float(p.in_channels)) for p in parts)
    assert prediction.total_ms == sum(p.in_channels for p in parts) == 1 + 8 + 8 + 8 + 16 + 16
    first = {p.key: p.name for p in reversed(parts)}  # the first part of each key is the one timed
    assert sorted(timer.parts) == sorted(2 * [(name, "infer", 1, "known") for name in first.values()])
    assert table.path.parent == tmp_path and table.path.name.startswith("cpu-")
    assert calibrate(table, [spec, large]) == pytest.approx(1.5) and table.per_part_ms("infer", 1) == pytest.approx(0)
    assert timer.networks == [("tiny", "infer", 1), ("large", "infer", 1)] * 2  # two passes, the faster kept
    assert latency_table("cpu").key == device_key("cpu") and latency_table("cpu").path.name.startswith("cpu-")


def test_a_part_timed_in_a_stall_is_replaced_by_its_second_timing():
    spec = spec_from_dict(TINY)
    table = latency_table("cpu")
    predict_latency(spec, table)
    stem = parts_of(spec)[0]
    entry = f"infer|b1|{stem.key}"
    measured = table.entries[entry]
    table.entries[entry] = 1e6  # as if the first timing had fallen into a seconds-long stall of the machine
    again = table.retime(spec, stem, "infer", 1)
    assert 0 < again < 1e6 and table.entries[entry] == again
    assert again < 100 * measured  # the same order as the first (unstalled) timing
    table.entries[entry] = 1e-9  # the faster of the two is kept
    assert table.retime(spec, stem, "infer", 1) == 1e-9
    assert json.loads(table.path.read_text())["entries"][entry] == 1e-9  # and saved


def test_training_mode_and_measurement():
    spec = spec_from_dict(TINY)
    table = latency_table("cpu")
    step = predict_latency(spec, table, mode="train", batch=8, resolution_px=32)
    assert step.mode == "train" and step.batch == 8 and step.total_ms > 0
    assert all(key.startswith(("infer|", "train|b8|")) for key in table.entries)
    assert measure_latency(spec, mode="train", batch=8) > 0 and measure_latency(spec) > 0


@pytest.mark.parametrize("kwargs, message", [({"mode": "fit"}, "expected one of infer, train"),
                                             ({"batch": 0}, "must be a positive integer")])
def test_bad_requests(kwargs, message):
    with pytest.raises(SpecError, match=message):
        predict_latency(spec_from_dict(TINY), latency_table("cpu"), **kwargs)


def test_cuda_without_cuda_is_a_spec_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SpecError, match="'cuda' asked for, but this machine has no CUDA device"):
        device_key("cuda")


def test_timing_waits_for_the_device_after_every_timed_step():
    """The CPU side of the CUDA timing: a step is timed only after ``sync()`` (``torch.cuda.synchronize`` on
    CUDA) returned, so queued kernels are counted; warm-up steps are synchronised once before timing starts."""
    from nasgen.cost._timing import _sample

    events: list[str] = []
    timing = _sample(lambda: events.append("step"), lambda: events.append("sync"), min_seconds=0.0)
    # a short step: two warm-up calls (each synchronised before the timing starts), then five timed steps, each
    # followed by a sync (issue 30 made the repeats adaptive; the syncs after every call are what this checks)
    assert events[:4] == ["step", "sync", "step", "sync"]
    assert events[4:] == ["step", "sync"] * 5 and timing.ms >= 0.0 and timing.calls == 7


def test_profile_latency_json_keys(tmp_path):
    path = tmp_path / "tiny.yaml"
    from nasgen.spec import save_spec

    save_spec(spec_from_dict(TINY), path)
    result = CliRunner().invoke(app, ["profile", str(path), "--latency", "--json", "--step-batch", "4"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("latency_predicted_ms", "latency_measured_ms", "step_time_predicted_ms", "step_time_measured_ms"):
        assert data[key] > 0
    assert data["step_batch"] == 4 and data["step_resolution_px"] == 32 and data["threads"] >= 1
    assert data["macs"] > 0  # the cost figures are still there


def test_profile_cuda_without_cuda_is_one_error_line():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = CliRunner().invoke(app, ["profile", "efficientnet-b0", "--latency", "--device", "cuda"])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0
    assert "no CUDA device" in result.output


def test_calibration_fits_a_factor_and_a_per_part_time():
    from nasgen.cost._latency import _fit_relative

    # networks of known parts sums p and part counts n, timed t = 1.2·p + 0.1·n exactly
    rows = [(p, n, 1.2 * p + 0.1 * n) for p, n in [(3.0, 15), (10.0, 20), (20.0, 30), (50.0, 35)]]
    a, b = _fit_relative(rows)
    assert a == pytest.approx(1.2) and b == pytest.approx(0.1)
    assert _fit_relative([(4.0, 10, 6.0)]) == (pytest.approx(1.5), 0.0)  # one network: a factor only
    assert _fit_relative([(4.0, 10, 2.0), (8.0, 10, 8.0)])[1] >= 0  # never a negative per-part time


def test_calibrate_stores_both_and_predictions_use_them():
    small = spec_from_dict(TINY)
    large = spec_from_dict({**TINY, "stages": TINY["stages"] + [{**TINY["stages"][1], "num_layers": 3}]})
    table = latency_table("cpu")
    assert not table.calibrated("infer", 1)
    factor = calibrate(table, [small, large])
    assert table.calibrated("infer", 1) and factor == table.factor("infer", 1) > 0
    assert table.per_part_ms("infer", 1) >= 0
    prediction = predict_latency(large, table)
    assert prediction.total_ms == pytest.approx(factor * prediction.parts_ms
                                                + table.per_part_ms("infer", 1) * len(prediction.parts))
    with pytest.raises(SpecError, match="at least one network"):
        calibrate(table, [])


def test_a_search_calibrates_a_fresh_table_before_its_first_prediction():
    from nasgen.search.objective import HardwareCost

    spec = spec_from_dict(TINY)
    hardware = HardwareCost("accuracy", budget_macs=10**9, max_latency_ms=50.0, calibration=[spec])
    values = hardware.predict(spec)
    table = hardware.table()
    assert table.calibrated("infer", 1) and not table.calibrated("train", 128)
    assert values["latency_ms"] == pytest.approx(predict_latency(spec, table).total_ms)


def test_repeats_stop_once_the_median_is_stable():
    from nasgen.cost._timing import _enough

    assert not _enough([0.01] * 4, 0.2, 0.15) and _enough([0.01] * 5, 0.2, 0.15)  # short calls: ≥ 5 over 0.15 s
    assert not _enough([0.01] * 5, 0.1, 0.15)  # … and over min_seconds
    assert _enough([0.10, 0.105, 0.102], 0.31, 0.15)  # three agreeing repeats over min_seconds
    assert not _enough([0.10, 0.15, 0.102], 0.35, 0.15)  # three that disagree by > 10 %: go on to five
    assert not _enough([0.04, 0.04, 0.04], 0.12, 0.15)  # agreeing but shorter than min_seconds together
    assert _enough([2.0, 2.1], 4.1, 0.15) and not _enough([2.0, 2.5], 4.5, 0.15)  # calls of seconds: two agreeing
    assert not _enough([0.5, 0.5], 1.0, 0.15)  # two are enough only for calls of a second or more


def test_a_spent_budget_times_one_part_and_estimates_the_rest():
    from nasgen.cost import TimingBudget
    from nasgen.cost._parts import part_work

    spec = spec_from_dict(TINY)
    table = latency_table("cpu")
    seen = []
    budget = TimingBudget(1e-6, on_progress=seen.append)  # spent before the first part
    prediction = predict_latency(spec, table, budget=budget)
    parts = parts_of(spec)
    work = {p.key: part_work(spec, p)[0] for p in parts}
    # the one part timed is the largest share of the network's MACs (count x MACs); no other is timed
    anchor = max({p.key: p for p in reversed(parts)}.values(), key=lambda p: sum(q.key == p.key for q in parts)
                 * work[p.key])  # fmt: skip
    assert prediction.measured_now == 1 and list(table.entries) == [f"infer|b1|{anchor.key}"]
    timed_ms = table.entries[f"infer|b1|{anchor.key}"]
    expected = {p.name: (timed_ms if p.key == anchor.key else work[p.key] * timed_ms / work[anchor.key]) for p in parts}
    assert dict(prediction.parts) == pytest.approx(expected)  # ms per MAC of the part timed (only one: all kinds)
    assert prediction.estimated == tuple(p.name for p in parts if p.key != anchor.key)
    assert budget.estimated == [f"infer {name}" for name in prediction.estimated] and budget.timed == 1
    assert [(r.part, r.done, r.total) for r in seen] == [(anchor.name, 0, 5), ("", 1, 5)]
    # estimates are never stored: without a budget the rest are timed now
    full = predict_latency(spec, table)
    assert full.measured_now == 4 and full.estimated == () and len(table.entries) == 5


def test_estimates_use_the_same_kind_first():
    from nasgen.cost._budget import estimate_ms

    timed = [("block:mbconv", 100, 2.0), ("block:fused_mbconv", 100, 5.0), ("stem", 50, 1.0)]
    assert estimate_ms(300, "block:mbconv", timed) == pytest.approx(6.0)  # 0.02 ms per MAC of its kind
    assert estimate_ms(250, "head", timed) == pytest.approx(250 * 8.0 / 250)  # no head timed: all parts' rate
    assert estimate_ms(0, "head", timed) == pytest.approx(8.0 / 3)  # no MACs: the mean time
    assert estimate_ms(10, "stem", []) is None


def test_progress_counts_parts_and_gives_an_eta():
    from nasgen.cost import TimingBudget

    seen = []
    predict_latency(spec_from_dict(TINY), latency_table("cpu"), budget=TimingBudget(on_progress=seen.append))
    assert [(r.done, r.total) for r in seen] == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert seen[0].eta_s is None and all(r.eta_s is not None and r.eta_s >= 0 for r in seen[1:])
    assert seen[-1].part == "" and seen[-1].eta_s == 0.0 and all(r.budget_s is None for r in seen)


def test_profile_latency_budget_says_what_was_estimated_and_skipped(tmp_path):
    from nasgen.spec import save_spec

    path = tmp_path / "tiny.yaml"
    save_spec(spec_from_dict(TINY), path)
    args = ["profile", str(path), "--latency", "--json", "--step-batch", "4", "--latency-budget", "1us"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["latency_budget_s"] == pytest.approx(1e-6) and data["latency_parts_timed"] == 2  # one per mode
    estimated = data["latency_parts_estimated"]  # "mode part": the 6 parts but the 1 or 2 of the key timed
    for mode in ("infer", "train"):
        assert len([name for name in estimated if name.startswith(f"{mode} ")]) in (4, 5), estimated
    assert len(set(estimated)) == len(estimated) and data["latency_predicted_ms"] > 0
    assert data["latency_measured_ms"] is None and data["step_time_measured_ms"] is None
    assert data["latency_measured_skipped"].startswith("--latency-budget spent")
    refused = CliRunner().invoke(app, ["profile", str(path), "--latency", "--latency-budget", "5"])
    assert refused.exit_code == 2 and "--latency-budget: give a unit" in refused.output

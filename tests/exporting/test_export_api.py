"""nasgen.export / nasgen.load as public names, and bad input: one clear ExportError each."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from export_helpers import make_run, tiny_spec, write_training_dir

import nasgen
from nasgen.errors import ExportError, SpecError
from nasgen.exporting import FORMAT_NAMES, export, load, parse_formats
from nasgen.spec import save_spec

FAST = "arch,code,manifest"


@pytest.mark.parametrize(
    "first",
    ["import nasgen", "import nasgen.exporting", "from nasgen.exporting import export", "import nasgen.cli.export"],
)
def test_nasgen_export_is_the_function_whatever_was_imported_first(first):
    code = (
        f"{first}\nimport sys, nasgen\n"
        "assert callable(nasgen.export) and nasgen.export.__module__ == 'nasgen.exporting._api', nasgen.export\n"
        "assert nasgen.load.__name__ == 'load'\n"
        "assert 'torch' not in sys.modules and 'optuna' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_export_and_load_through_the_top_level_names(tmp_path):
    result = nasgen.export(tiny_spec(), tmp_path / "out", formats=FAST)
    assert set(result.paths) == {"arch", "code", "manifest"}
    manifest = json.loads(result.paths["manifest"].read_text())
    assert set(manifest["files"]) == {"arch", "code"} and manifest["checks"] == {}
    model = nasgen.load(tmp_path / "out")
    assert not model.training and model.spec == tiny_spec()
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_parse_formats():
    assert parse_formats(None) is None
    assert parse_formats("onnx, arch,ARCH") == ["arch", "onnx"]
    assert parse_formats(["manifest", "code"]) == ["code", "manifest"]
    assert tuple(FORMAT_NAMES) == ("arch", "code", "weights", "torchscript", "onnx", "manifest")


@pytest.mark.parametrize(("formats", "shown"), [("arch,pt", "'pt'"), ("", "''"), ([], "no format given")])
def test_unknown_or_empty_format(formats, shown):
    with pytest.raises(ExportError, match=f"format: .*{shown}"):
        parse_formats(formats)


def test_output_directory_with_files_needs_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"already holds files \(notes.txt\); pass --force"):
        export(tiny_spec(), tmp_path, formats=FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_force_replaces_an_earlier_export_and_leaves_other_files(tmp_path):
    export(tiny_spec(), tmp_path, formats="arch,code,manifest")
    (tmp_path / "notes.txt").write_text("mine")
    other = tiny_spec(head_channels=32)
    result = export(other, tmp_path, formats="arch,manifest", force=True)
    # the stale model.py of the first export is gone; the user's file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.yaml", "manifest.json", "notes.txt"]
    assert nasgen.load_spec(tmp_path / "arch.yaml") == other and result.spec == other


def test_output_directory_that_is_the_source(tmp_path):
    folder = write_training_dir(tmp_path / "train", tiny_spec())
    with pytest.raises(ExportError, match="holds the source"):
        export(folder, folder, force=True)
    assert (folder / "weights.safetensors").is_file()


def test_output_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("")
    with pytest.raises(ExportError, match="is a file, not a directory"):
        export(tiny_spec(), tmp_path / "out", formats=FAST)


def test_weights_asked_without_trained_weights(tmp_path):
    with pytest.raises(ExportError, match=r"format weights: built-in architecture efficientnet-b0 has no trained"):
        export("efficientnet-b0", tmp_path / "out", formats="arch,weights")
    assert not (tmp_path / "out").exists()


def test_onnx_without_its_extra(tmp_path, monkeypatch):
    monkeypatch.setattr("nasgen.exporting._formats.onnx_available", lambda: False)
    with pytest.raises(ExportError, match=r"pip install 'nasgen\[onnx\]'"):
        export(tiny_spec(), tmp_path / "a", formats="arch,onnx")
    result = export(tiny_spec(), tmp_path / "b", formats=None)  # the default skips it with the hint
    assert "onnx" not in result.files and "pip install 'nasgen[onnx]'" in result.skipped["onnx"]
    assert "weights" in result.skipped and set(result.files) == {"arch", "code", "torchscript", "manifest"}


def test_run_without_a_completed_trial(tmp_path):
    run = make_run(tmp_path / "run", [("RUNNING", tiny_spec(), None, {})])
    with pytest.raises(ExportError, match="has no completed, feasible trial yet"):
        export(run, tmp_path / "out", formats=FAST)


def test_unknown_trial(tmp_path):
    run = make_run(tmp_path / "run", [("COMPLETE", tiny_spec(), 0.5, {})])
    with pytest.raises(ExportError, match="trial 4 does not exist"):
        export(run, tmp_path / "out", trial=4, formats=FAST)


def test_weights_that_do_not_fit(tmp_path):
    folder = write_training_dir(tmp_path / "train", tiny_spec())
    save_spec(tiny_spec(head_channels=32), folder / "arch.yaml")  # a different architecture
    with pytest.raises(ExportError, match=r"do not fit the architecture \(shape mismatch: head.conv.weight"):
        export(folder, tmp_path / "out", formats="weights")
    with pytest.raises(ExportError, match="do not fit"):
        load(folder)


def test_pickled_objects_are_never_loaded(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    save_spec(tiny_spec(), folder / "arch.yaml")
    torch.save({"evil": object()}, folder / "weights.pt")  # needs full unpickling
    with pytest.raises(ExportError, match="cannot read weights .*weights.pt"):
        load(folder)


def test_a_weights_only_pt_state_dict_loads(tmp_path):
    folder = tmp_path / "train"
    write_training_dir(folder, tiny_spec())
    model = load(folder)
    (folder / "weights.safetensors").unlink()
    torch.save({"state_dict": model.state_dict()}, folder / "weights.pt")
    again = load(folder)
    assert all(torch.equal(again.state_dict()[k], v) for k, v in model.state_dict().items())


def test_from_code_needs_model_py(tmp_path):
    write_training_dir(tmp_path, tiny_spec())
    with pytest.raises(ExportError, match="from_code needs an export directory with model.py"):
        load(tmp_path, from_code=True)


def test_bad_architecture_file_is_a_spec_error(tmp_path):
    bad = tmp_path / "arch.yaml"
    bad.write_text(save_spec(tiny_spec(), tmp_path / "ok.yaml").read_text().replace("kernel_size: 5", "kernel_size: 4"))
    with pytest.raises(SpecError, match=r"line \d+: stages.2.kernel_size: must be 3, 5 or 7, got 4"):
        export(bad, tmp_path / "out", formats=FAST)

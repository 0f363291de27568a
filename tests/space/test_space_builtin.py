"""Built-in spaces: they hold B0 / V2-S exactly, exact sizes, MACs ranges, cheap architectures for CPU searches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nasgen

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.space import builtin_space_files, builtin_spaces, dump_space, load_space, loads_space
from nasgen.spec import load_spec

B0_MACS = 385_814_752  # docs/design.md reference (conv + linear, 224 px)
REPO_SPACES = Path(__file__).parents[2] / "search_spaces"


def test_registry_lists_the_yaml_files_with_descriptions() -> None:
    spaces = builtin_spaces()
    assert sorted(spaces) == ["efficientnet-v1", "efficientnet-v2"]
    assert sorted(spaces) == sorted(p.stem for p in REPO_SPACES.glob("*.yaml"))
    assert spaces["efficientnet-v1"].startswith("MBConv stages around EfficientNet-B0")
    assert spaces["efficientnet-v2"].startswith("Fused-MBConv / MBConv stages around EfficientNetV2-S")
    assert set(builtin_space_files()) == set(spaces)


@pytest.mark.parametrize(("space_name", "arch_name"), [("efficientnet-v1", "efficientnet-b0"),
                                                       ("efficientnet-v2", "efficientnetv2-s")])
def test_space_holds_its_reference_exactly(space_name: str, arch_name: str) -> None:
    space, arch = load_space(space_name), load_spec(arch_name)
    assert space.contains(arch)
    frozen = space.freeze(space.params_of(arch))
    assert frozen.content_hash() == arch.content_hash()
    assert frozen.name is None and frozen.num_classes == 1000
    assert space.freeze(space.params_of(arch), name=arch.name) == arch


def test_reference_values_that_differ_between_v1_and_v2() -> None:
    v1, v2 = load_space("efficientnet-v1"), load_space("efficientnet-v2")
    assert v1.fixed_values()["bn_eps"] == 1e-5 and v2.fixed_values()["bn_eps"] == 1e-3
    assert not v1.contains(load_spec("efficientnetv2-s"))
    assert not v2.contains(load_spec("efficientnet-b0"))  # seven stages, the V2 space has at most six


def test_labels_are_stable() -> None:
    labels = list(load_space("efficientnet-v1").dimensions())
    assert labels[:4] == ["resolution_px", "stem.out_channels", "stages.0.num_layers", "stages.0.kernel_size"]
    assert labels[-2:] == ["head_channels", "dropout"]
    assert labels.index("stages.4.present") < labels.index("stages.4.num_layers")
    assert "stages.6.present" in labels and "stages.3.present" not in labels
    assert len(labels) == len(set(labels)) == 41
    v2_labels = list(load_space("efficientnet-v2").dimensions())
    assert {"stages.1.kind", "stages.3.kind", "stages.4.present"} <= set(v2_labels)
    assert "stages.0.kind" not in v2_labels and len(v2_labels) == 35


def test_sizes_are_exact_products() -> None:
    globals_v1 = 5 * 3 * 2 * 3  # resolution x stem x head x dropout
    stages_v1 = [2 * 2 * 3 * 3 * 2, 108, 108, 108, 1 + 108, 4 * 2 * 3 * 3 * 2, 1 + 2 * 2 * 3 * 2 * 2]
    expected = globals_v1
    for count in stages_v1:
        expected *= count
    assert load_space("efficientnet-v1").size() == expected == 6_278_145_006_551_040
    assert load_space("efficientnet-v2").size() == 90 * 9 * 192 * 192 * 240 * 97 * 96 == 66_733_159_219_200


def test_macs_range_of_v1_brackets_b0() -> None:
    low, high = load_space("efficientnet-v1").macs_range()
    assert low < B0_MACS < high
    assert (low, high) == (4_767_072, 1_121_147_328)


def test_macs_range_of_v2_brackets_v2s() -> None:
    low, high = load_space("efficientnet-v2").macs_range()
    assert low < count_cost(load_spec("efficientnetv2-s")).macs == 8_365_617_152 < high


def test_v1_has_many_architectures_far_below_a_400m_budget() -> None:
    space = load_space("efficientnet-v1")
    macs = [count_cost(space.sample(seed, num_classes=10, in_channels=1)).macs for seed in range(60)]
    assert sum(m < 200_000_000 for m in macs) >= 30
    low, high = space.macs_range(num_classes=10, in_channels=1)
    assert low < 5_000_000
    assert all(low <= m <= high for m in macs)


@pytest.mark.parametrize("name", ["efficientnet-v1", "efficientnet-v2"])
def test_samples_are_contained_and_values_are_optuna_friendly(name: str) -> None:
    space = load_space(name)
    low, high = space.macs_range()
    for seed in range(10):
        spec = space.sample(seed)
        assert space.contains(spec)
        assert low <= count_cost(spec).macs <= high
    for label, dim in space.dimensions().items():
        assert all(type(v) in (int, float, str, bool) for v in dim.values()), label
    assert loads_space(dump_space(space)) == space


def test_builtin_spaces_are_found_at_the_wheel_location(tmp_path: Path) -> None:
    # An installed copy of the package outside the repo (a wheel holds the files of search_spaces/ as
    # nasgen/search_spaces/) reads its own folder, never the checkout's: it holds only "only-v2" here.
    package = tmp_path / "site" / "nasgen"
    shutil.copytree(Path(nasgen.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"),
                    symlinks=True)
    (package / "search_spaces").unlink()  # the checkout's link to ../search_spaces; a wheel has a real folder
    (package / "search_spaces").mkdir()
    shutil.copy(REPO_SPACES / "efficientnet-v2.yaml", package / "search_spaces" / "only-v2.yaml")
    code = "from nasgen.space import builtin_spaces, load_space; print(sorted(builtin_spaces())); " \
           "print(load_space('only-v2').stages[0].kind)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['only-v2']", "Fixed(value='fused_mbconv')"]


def test_unknown_name_and_missing_file() -> None:
    with pytest.raises(SpecError, match=r"'efficientnet-v9' is neither a file nor a built-in search space "
                                        r"\(efficientnet-v1, efficientnet-v2\)"):
        load_space("efficientnet-v9")
    with pytest.raises(SpecError, match=r"^missing\.yaml: no such file$") as info:
        load_space("missing.yaml")
    assert info.value.file == "missing.yaml"

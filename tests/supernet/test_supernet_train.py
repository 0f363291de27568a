"""Supernet training: once per (space, data, recipe) in the run directory, resumed bit-identically after a kill,
reused when the keys match, refused with the differing key when they do not, loaded memory-mapped."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nasgen.data import fingerprint as data_fingerprint
from nasgen.errors import DataError, TrainError
from nasgen.space import load_space
from nasgen.supernet import load_supernet, train_supernet

from supernet_helpers import SMALL_SPACE, tiny_recipe


class Killed(Exception):
    """Raised by an ``on_epoch`` callback: the process "dies" after an epoch's checkpoint."""


def _digest(module: torch.nn.Module) -> dict[str, str]:
    return {name: hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
            for name, t in module.state_dict().items()}  # fmt: skip


def test_a_killed_training_resumes_to_the_same_weights(tmp_path: Path, small_data) -> None:
    space, recipe = load_space(SMALL_SPACE), tiny_recipe()
    whole = train_supernet(space, small_data, recipe, tmp_path / "whole", seed=3)
    assert not whole.reused and [row["epoch"] for row in whole.history] == [0, 1]

    def kill(epoch: int, row: dict) -> None:
        raise Killed

    with pytest.raises(Killed):
        train_supernet(space, small_data, recipe, tmp_path / "killed", seed=3, on_epoch=kill)
    meta = json.loads((tmp_path / "killed" / "supernet" / "meta.json").read_text())
    assert (meta["epochs_done"], meta["complete"]) == (1, False)
    with pytest.raises(TrainError, match=r"is trained to epoch 1 of 2: run train_supernet again to finish it"):
        load_supernet(tmp_path / "killed")
    resumed = train_supernet(space, small_data, recipe, tmp_path / "killed", seed=99)  # the recorded seed wins
    assert not resumed.reused and resumed.meta["seed"] == 3
    assert _digest(resumed.supernet) == _digest(whole.supernet)
    timeless = [[{k: v for k, v in row.items() if k != "seconds"} for row in run.history] for run in (whole, resumed)]
    assert timeless[0] == timeless[1]  # the same losses and scores, epoch by epoch


def test_a_finished_supernet_is_reused_and_loaded_memory_mapped(tmp_path: Path, small_data) -> None:
    space, recipe = load_space(SMALL_SPACE), tiny_recipe(train=tiny_recipe().train.replace(epochs=1))
    run = train_supernet(space, small_data, recipe, tmp_path, seed=0)
    meta = json.loads((tmp_path / "supernet" / "meta.json").read_text())
    assert meta["keys"] == {
        "space_hash": space.content_hash(), "recipe_hash": recipe.recipe_hash(), "num_classes": 10,
        "in_channels": 1, "split_seed": 0,
        "data_fingerprint": f"{data_fingerprint(small_data[0])} + {data_fingerprint(small_data[1])}",
    }  # fmt: skip
    again = train_supernet(space, small_data, recipe.replace(calibration_images=64), tmp_path, seed=5)
    assert again.reused and again.recipe.calibration_images == 64  # scoring settings are not a key
    assert _digest(again.supernet) == _digest(run.supernet)
    loaded = load_supernet(tmp_path)
    assert loaded.reused and loaded.recipe == recipe and _digest(loaded.supernet) == _digest(run.supernet)
    assert loaded.supernet.space == space
    if sys.platform.startswith("linux"):  # the weights are pages of the file, shared by every process loading it
        weight = loaded.supernet.stages[1]["mbconv"][0].conv_pw.weight
        address = weight.data_ptr()
        maps = Path("/proc/self/maps").read_text().splitlines()
        mapped = [line for line in maps if int(line.split()[0].split("-")[0], 16) <= address
                  < int(line.split()[0].split("-")[1], 16)]  # fmt: skip
        assert mapped and mapped[0].endswith("supernet.safetensors")


def test_other_data_space_or_recipe_is_refused_and_nothing_is_lost(tmp_path: Path, small_data) -> None:
    space, recipe = load_space(SMALL_SPACE), tiny_recipe(train=tiny_recipe().train.replace(epochs=1))
    train_supernet(space, small_data, recipe, tmp_path, seed=0)
    weights = (tmp_path / "supernet" / "supernet.safetensors").read_bytes()
    other = (small_data[0].subset(np.arange(500), "other"), small_data[1])
    with pytest.raises(DataError) as err:
        train_supernet(space, other, recipe, tmp_path, seed=0)
    message = str(err.value)
    assert "the supernet there was trained on other data" in message
    assert data_fingerprint(small_data[0]) in message and data_fingerprint(other[0]) in message
    with pytest.raises(TrainError, match=r"trained with another recipe \(n_random: 1 -> 2\)"):
        train_supernet(space, small_data, recipe.replace(n_random=2), tmp_path, seed=0)
    text = SMALL_SPACE.read_text().replace("head_channels: [64, 128]", "head_channels: [64, 96]")
    from nasgen.space import loads_space

    with pytest.raises(TrainError, match="belongs to another search space"):
        train_supernet(loads_space(text), small_data, recipe, tmp_path, seed=0)
    assert (tmp_path / "supernet" / "supernet.safetensors").read_bytes() == weights  # nothing computed lost
    fresh = train_supernet(loads_space(text), small_data, recipe, tmp_path, seed=0, resume=False)
    assert not fresh.reused and fresh.meta["keys"]["space_hash"] == loads_space(text).content_hash()


def test_uniform_single_path_trains_one_subnet_per_step(tmp_path: Path, small_data) -> None:
    recipe = tiny_recipe(strategy="uniform", distill=False, train=tiny_recipe().train.replace(epochs=1))
    assert recipe.subnets_per_step() == 1 and tiny_recipe().subnets_per_step() == 3
    run = train_supernet(SMALL_SPACE, small_data, recipe, tmp_path, seed=0)
    assert run.history[0]["train_loss"] > 0 and 0 <= run.history[0]["largest_top1"] <= 1
    with pytest.raises(TrainError, match="no supernet in"):
        load_supernet(tmp_path / "nowhere")

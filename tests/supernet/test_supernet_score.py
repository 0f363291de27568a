"""Scoring subnets: BatchNorm recalibrated on a fixed set of training images for each subnet, top-1 on the fixed
validation subset at the proxy's resolution, and the shared weights bit-identical afterwards."""

from __future__ import annotations

import hashlib
import random

import pytest
import torch
import torch.nn.functional as F

from nasgen.space import load_space
from nasgen.supernet import SubnetScorer, train_supernet
from nasgen.train import proxy_resolution_for

from supernet_helpers import SMALL_SPACE, tiny_recipe


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_data):
    recipe = tiny_recipe(train=tiny_recipe().train.replace(epochs=1))
    run = train_supernet(load_space(SMALL_SPACE), small_data, recipe, tmp_path_factory.mktemp("run"), seed=0)
    return run, SubnetScorer(run.supernet, small_data, run.recipe)


def _hashes(module: torch.nn.Module) -> dict[str, str]:
    return {name: hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()
            for name, t in module.state_dict().items()}  # fmt: skip


def _manual_score(model: torch.nn.Module, scorer: SubnetScorer, resolution: int, recalibrate: bool):
    """The same score the plain way: an extracted model, its BatchNorm reset and re-estimated in place."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    model.eval()
    if recalibrate:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        with torch.no_grad():
            for x, _ in scorer._batches(scorer.train, scorer.calibration_index, resolution):
                model(x)
        model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for x, y in scorer._batches(scorer.val, scorer.val_index, resolution):
            logits = model(x)
            correct += int((logits.argmax(1) == y).sum())
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
    return correct / len(scorer.val_index), loss / len(scorer.val_index)


def test_scoring_leaves_every_shared_tensor_bit_identical(trained) -> None:
    run, scorer = trained
    before = _hashes(run.supernet)
    rng = random.Random(4)
    specs = [run.supernet.largest(), run.supernet.smallest(), *(run.supernet.sample(rng) for _ in range(3))]
    scores = [scorer.score(spec, recalibrate=k % 2 == 0) for k, spec in enumerate(specs)]
    assert _hashes(run.supernet) == before
    assert [s.recalibrated for s in scores] == [True, False, True, False, True]
    assert all(0.0 <= s.val_top1 <= 1.0 and s.seconds > 0 for s in scores)


@pytest.mark.parametrize("recalibrate", [True, False])
def test_a_score_is_the_extracted_model_scored_the_plain_way(trained, recalibrate: bool) -> None:
    run, scorer = trained
    spec = run.supernet.sample(random.Random(11))
    resolution = proxy_resolution_for(spec, scorer.train, scorer.config)
    score = scorer.score(spec, recalibrate=recalibrate)
    top1, loss = _manual_score(run.supernet.extract(spec), scorer, resolution, recalibrate)
    assert score.resolution_px == resolution == 16  # 32 px × 32 / 224 raised to the proxy's 16-px floor
    assert score.val_top1 == pytest.approx(top1, abs=1 / len(scorer.val_index)) and score.val_loss == pytest.approx(
        loss, rel=1e-4)  # fmt: skip


def test_the_calibration_and_validation_images_are_fixed(trained, small_data) -> None:
    run, scorer = trained
    other = SubnetScorer(run.supernet, small_data, run.recipe)
    assert torch.equal(other.calibration_index, scorer.calibration_index) and len(scorer.calibration_index) == 128
    assert torch.equal(other.val_index, scorer.val_index) and len(scorer.val_index) == 200
    spec = run.supernet.smallest()
    assert scorer.score(spec).val_top1 == other.score(spec).val_top1

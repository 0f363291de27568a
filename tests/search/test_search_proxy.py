"""A tiny search end to end with real proxy training on the embedded Fashion-MNIST subset (slow)."""

from __future__ import annotations

import pytest

from nasgen.data import load_dataset
from nasgen.search import search
from nasgen.spec import loads_spec
from nasgen.train import default_proxy, evaluate_proxy

# 2 epochs of 640 images at 28 px (the data's own size), batch 32: 40 optimizer steps per trial.
PROXY = {
    "scale_resolution_from_px": None, "resolution_px": 28, "images_per_epoch": 640, "batch_size": 32,
    "val_images": 500, "epochs": 2, "warmup_epochs": 0.3,
}


@pytest.mark.slow
def test_tiny_search_with_real_training(space, tmp_path):
    result = search("10M", space=space, n_trials=3, seed=0, out=tmp_path, proxy=PROXY, pruner="none")
    trained = [t for t in result.study.trials if t.user_attrs.get("epochs")]
    assert len(trained) == 3
    for trial in trained:
        attrs = trial.user_attrs
        assert attrs["device"] == "cpu" and attrs["epochs"] == 2 and attrs["train_seconds"] > 0
        assert 0.0 <= attrs["val_top1"] <= 1.0 and trial.value == attrs["val_top1"]
    # above chance (10 classes) after 40 steps, and the recorded score is the proxy's, reproducibly
    assert result.best_value > 0.2
    best = loads_spec((tmp_path / "best.yaml").read_text())
    again = evaluate_proxy(best, load_dataset(None, seed=0), default_proxy("cpu").replace(**PROXY), seed=0)
    assert again.val_top1 == pytest.approx(result.best_value, abs=1e-9)

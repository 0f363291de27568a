"""The trainer core: determinism, untouched global RNG, NaN → TrainError, pruning exceptions, lr schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasgen.data import ImageDataset
from nasgen.errors import SpecError, TrainError
from nasgen.train import EpochSettings, TrainConfig, Trainer, train_model
from nasgen.train._optim import lr_factor

FAST = TrainConfig(epochs=2, batch_size=16, resolution_px=8, warmup_epochs=0.5, lr=1e-2)


def _toy(n=64, seed=0) -> ImageDataset:
    # Two classes a tiny CNN can separate: bright squares in the top-left vs. the bottom-right.
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(n, 8, 8, 1), dtype=np.uint8)
    labels = np.arange(n) % 2
    images[labels == 0, :4, :4] += 150
    images[labels == 1, 4:, 4:] += 150
    return ImageDataset(images, labels.astype(np.int64), ["tl", "br"], "toy")


def _net(seed=0) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.1),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 2),
        )


def test_same_seed_same_result_and_global_rng_untouched():
    train, val = _toy(), _toy(32, seed=1)
    before = torch.get_rng_state()
    a = train_model(_net(), train, val, FAST, seed=3, device="cpu")
    b = train_model(_net(), train, val, FAST, seed=3, device="cpu")
    assert torch.equal(before, torch.get_rng_state())
    assert a.val_top1 == b.val_top1 and a.val_loss == b.val_loss
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert a.val_top1 >= 0.9  # the toy task is learnable in 8 steps
    assert a.epochs == 2 and a.device == "cpu" and a.images_per_second > 0
    c = train_model(_net(), train, val, FAST, seed=4, device="cpu")
    assert c.history[0]["train_loss"] != a.history[0]["train_loss"]


def test_images_per_epoch_and_val_subset():
    config = FAST.replace(images_per_epoch=20, val_images=10, epochs=1)
    trainer = Trainer(_net(), _toy(), _toy(32, seed=1), config, seed=0, device="cpu")
    assert trainer.n_train == 20 and trainer.steps_per_epoch == 2
    assert np.bincount(trainer.val_set.labels[trainer.val_index.numpy()]).tolist() == [5, 5]


class _Nan(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


def test_nan_loss_raises_train_error():
    model = nn.Sequential(_net(), _Nan())
    with pytest.raises(TrainError, match="loss became nan at epoch 0 step 0"):
        train_model(model, _toy(), _toy(), FAST, seed=0, device="cpu")


def test_on_epoch_exception_propagates_after_first_epoch():
    class Pruned(Exception):
        pass

    seen = []

    def on_epoch(epoch: int, top1: float) -> None:
        seen.append((epoch, top1))
        raise Pruned

    with pytest.raises(Pruned):
        train_model(_net(), _toy(), _toy(), FAST, seed=0, device="cpu", on_epoch=on_epoch)
    assert len(seen) == 1 and seen[0][0] == 0 and 0.0 <= seen[0][1] <= 1.0


def test_epoch_settings_change_resolution_and_dropout():
    net = _net()
    settings = {0: EpochSettings(resolution_px=6, dropout=0.3), 1: EpochSettings(resolution_px=8, dropout=0.0)}
    result = train_model(net, _toy(), _toy(), FAST, seed=0, device="cpu", epoch_settings=settings.__getitem__)
    assert [h["resolution_px"] for h in result.history] == [6, 8]
    assert net[3].p == 0.0


def test_bn_momentum_override_recalibration_and_ema():
    config = FAST.replace(bn_momentum=0.5, bn_recalibration_images=32, ema_decay=0.9, epochs=1)
    trainer = Trainer(_net(), _toy(), _toy(), config, seed=0, device="cpu")
    assert trainer.model[1].momentum == 0.5
    result = trainer.run()
    assert trainer.model[1].momentum == 0.5  # restored after recalibration
    assert result.val_top1 >= 0.5 and trainer.ema is not None


def test_ema_decay_warms_up():
    from nasgen.train._averages import ema_decay_at

    assert ema_decay_at(0.9999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.9999, 10) == pytest.approx(11 / 20)
    assert ema_decay_at(0.98, 1000) == 0.98
    assert ema_decay_at(0.98, 440) == pytest.approx(441 / 450)  # crosses 0.98 at n = 440


def test_ema_batchnorm_statistics_follow_the_model():
    # An average kept from initialization with a fixed decay keeps decay**n of the initial running variance
    # (1.0); after 8 updates at 0.98 that is 85 %, whatever the data say. With the warm-up the averaged
    # statistics sit near the model's (regression: a 3-epoch B0 proxy with EMA scored 10 %).
    train = _toy()
    config = FAST.replace(ema_decay=0.98, epochs=1, bn_momentum=0.5, lr=1e-9, warmup_epochs=0.0)
    trainer = Trainer(_net(), train, _toy(), config, seed=0, device="cpu")
    trainer.train_epoch(0)
    model_var = trainer.model[1].running_var
    ema_var = trainer.ema.module[1].running_var
    assert float(model_var.mean()) < 0.5  # conv outputs' variance after 4 batches, far from 1.0
    assert torch.allclose(ema_var, model_var, rtol=0.35)
    assert int(trainer.ema.module[1].num_batches_tracked) == int(trainer.model[1].num_batches_tracked) == 4


def test_state_dict_round_trip_resumes_identically():
    train, val = _toy(), _toy(32, seed=1)
    full = train_model(_net(), train, val, FAST, seed=5, device="cpu")
    first = Trainer(_net(), train, val, FAST, seed=5, device="cpu")

    class Stop(Exception):
        pass

    def stop(epoch: int, top1: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        first.run(stop)  # interrupted after epoch 0, as a killed run would be
    resumed = Trainer(_net(seed=9), train, val, FAST, seed=5, device="cpu")
    resumed.load_state_dict(first.state_dict())
    result = resumed.run()
    assert result.epochs == 2 and result.val_top1 == full.val_top1 and result.val_loss == full.val_loss
    assert [h["train_loss"] for h in result.history] == [h["train_loss"] for h in full.history]


def test_optimizers_and_no_decay_groups():
    from nasgen.train._optim import make_optimizer

    net = _net()
    adamw = make_optimizer(net, FAST.replace(optimizer="adamw", weight_decay=0.05))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["fused"] is True
    # conv and linear weights decay; biases and BatchNorm γ/β do not
    assert [len(g["params"]) for g in adamw.param_groups] == [2, 4]
    assert [g["weight_decay"] for g in adamw.param_groups] == [0.05, 0.0]
    sgd = make_optimizer(net, FAST.replace(optimizer="sgd", lr=0.1, momentum=0.9))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] is True
    rmsprop = make_optimizer(net, FAST.replace(optimizer="rmsprop"))
    assert rmsprop.defaults["alpha"] == 0.9 and rmsprop.defaults["eps"] == 1e-3


def test_lr_schedule_warmup_cosine_step_constant():
    config = TrainConfig(epochs=2, warmup_epochs=0.5, lr_schedule="cosine")
    factors = [lr_factor(s, config, 10) for s in range(20)]
    assert factors[:5] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert factors[5] == 1.0 and factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 14 / 15)))
    step = config.replace(lr_schedule="step", lr_step_epochs=1.0, lr_step_gamma=0.5, warmup_epochs=0.0)
    assert [lr_factor(s, step, 10) for s in (0, 9, 10, 19)] == [1.0, 1.0, 0.5, 0.5]
    assert lr_factor(17, config.replace(lr_schedule="constant"), 10) == 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "adam"}, "optimizer: .*'sgd', 'rmsprop' or 'adamw'"),
        ({"lr": 0.0}, "lr: .*greater than 0"),
        ({"epochs": 1, "warmup_epochs": 2.0}, r"warmup_epochs \(2.0\) exceeds epochs \(1\)"),
        ({"batch_size": 3.5}, "batch_size"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"bachsize": 3}, "bachsize: unknown field"),
    ],
)
def test_config_validation_names_the_field(changes, message):
    with pytest.raises(SpecError, match=message):
        TrainConfig().replace(**changes)


def test_config_is_frozen_and_from_dict():
    config = TrainConfig.from_dict({"optimizer": "sgd", "lr": 0.05})
    assert config.optimizer == "sgd" and config.lr == 0.05
    with pytest.raises(Exception):
        config.lr = 1.0  # type: ignore[misc]


def test_cuda_request_without_cuda_is_a_train_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(TrainError, match="CUDA is not available"):
        train_model(_net(), _toy(), _toy(), FAST, seed=0, device="cuda")

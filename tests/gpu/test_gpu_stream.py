"""The streamed trainer on CUDA: DataLoader batches in pinned memory, non-blocking copies, bf16 autocast.

CPU side: tests/train/test_stream.py (``pin_memory=False`` on the CPU, the same training to known answers).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from cuda_only import GPU_ONLY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree

from nasgen.spec import loads_spec

pytestmark = GPU_ONLY

TINY = """\
name: tiny
in_channels: 1
resolution_px: 64
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
dropout: 0.0
drop_path_rate: 0.0
"""


def test_streamed_batches_are_pinned_and_trained_in_bf16(tmp_path, monkeypatch):
    import nasgen.train._stream as trainer_module
    from nasgen.data import load_dataset, split
    from nasgen.nn import build_model
    from nasgen.train import TrainConfig
    from nasgen.train._stream import StreamTrainer

    asked, pinned, real = [], [], trainer_module.make_loader

    def spy(*args, **kwargs):
        asked.append(kwargs["pin_memory"])
        for batch in real(*args, **kwargs):
            pinned.append(batch.images.is_pinned() and batch.labels.is_pinned())
            yield batch

    monkeypatch.setattr(trainer_module, "make_loader", spy)
    train_files, val_files = split(load_dataset(make_tree(tmp_path / "tree", n_per_class=24)), None, seed=0)
    model = build_model(loads_spec(TINY).replace(in_channels=3, num_classes=2, resolution_px=32))
    dtypes = []
    model.stem.conv.register_forward_hook(lambda m, args, out: dtypes.append((out.dtype, out.device.type)))
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=32, warmup_epochs=0.0, val_images=12,
                         bn_recalibration_images=16)
    StreamTrainer(model, train_files, val_files, config, seed=0, device="cuda", loader_workers=1).run()
    assert asked == [True, True, True]  # training, BatchNorm recalibration, evaluation
    assert pinned and all(pinned)
    assert set(dtypes) == {(torch.bfloat16, "cuda")}


def test_streamed_full_training_on_cuda_learns_and_saves_cpu_loadable_weights(tmp_path):
    from safetensors.torch import load_file

    from nasgen.train import train

    tree = make_tree(tmp_path / "tree", n_per_class=30)
    result = train(loads_spec(TINY, file="tiny.yaml"), tree, epochs=3, out=tmp_path / "run", batch_size=16, seed=0,
                   device="cuda", lr=5e-3, warmup_epochs=0.2, loader_workers=1, label_smoothing=0.0)
    assert result.val_top1 == 1.0  # red vs blue, as on the CPU (tests/train/test_stream.py)
    state = load_file(str(result.weights_path), device="cpu")
    assert state and {t.device.type for t in state.values()} == {"cpu"}

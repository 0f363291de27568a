"""The proxy: a short, seeded training run that scores an architecture during a search (issue 7).

The default recipes were chosen by measurement; ``docs/proxy.md`` keeps the log of every recipe tried.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import torch
from torch import nn

from nasgen.config import TrainConfig
from nasgen.data import ImageDataset, split
from nasgen.errors import DataError
from nasgen.spec import total_stride
from nasgen.train._device import resolve_device
from nasgen.train._records import TrainResult
from nasgen.train._trainer import train_model

__all__ = [
    "CPU_PROXY",
    "GPU_PROXY",
    "PROXY_FLOOR_PX",
    "ProxyConfig",
    "default_proxy",
    "estimate_proxy_seconds",
    "evaluate_proxy",
    "proxy_data",
    "proxy_resolution",
    "proxy_resolution_for",
    "proxy_split",
    "zero_init_residual",
]

#: The smallest proxy input (px) unless the data itself is smaller: a resolution scaled down from 224 px can
#: land far below what any image of the data shows (a 48-px space → 7 px); the proxy is raised to this floor.
PROXY_FLOOR_PX = 16

#: A proxy recipe is a :class:`TrainConfig`; the alias names its role.
ProxyConfig = TrainConfig

#: Default proxy on CPU (2 cores): see docs/proxy.md for the measurements behind each value.
CPU_PROXY = TrainConfig(
    optimizer="adamw",
    lr=6e-3,
    weight_decay=0.05,
    warmup_epochs=0.1,
    lr_schedule="cosine",
    label_smoothing=0.0,
    batch_size=128,
    epochs=3,
    resolution_px=32,
    scale_resolution_from_px=224,
    channels_last=True,
    dropout=0.0,
    drop_path_rate=0.0,
    zero_init_residual=True,
)

#: Default proxy on CUDA: same recipe, more images per second buy more epochs at a larger resolution.
GPU_PROXY = CPU_PROXY.replace(epochs=10, batch_size=256, lr=4e-3, resolution_px=64, warmup_epochs=1.0)

_SPLITS: weakref.WeakKeyDictionary[ImageDataset, dict[int, tuple[ImageDataset, ImageDataset]]] = (
    weakref.WeakKeyDictionary()
)


def default_proxy(device: str | torch.device | None = None) -> TrainConfig:
    """The default proxy recipe for ``device`` (``None`` = the device :func:`resolve_device` picks)."""
    return GPU_PROXY if resolve_device(device).type == "cuda" else CPU_PROXY


def proxy_resolution(
    spec_resolution_px: int, config: TrainConfig, total_stride: int = 1, data_px: int | None = None
) -> int:
    """The resolution (px) at which the proxy trains an architecture of resolution ``spec_resolution_px``.

    With ``config.scale_resolution_from_px`` = s, an architecture meant for r px trains at
    ``round(config.resolution_px · r / s)`` (B0 at 224 → 32 px with the CPU default), so the proxy still sees
    the benefit of a larger input that the search pays for in MACs; never below ``total_stride`` (the spec
    rule that the last feature map is at least 1×1), and, when ``data_px`` (the data's own image size) is
    given, never below ``min(PROXY_FLOOR_PX, data_px)``. Without scaling, every architecture trains at
    ``config.resolution_px``.
    """
    if config.scale_resolution_from_px is None:
        resolution = config.resolution_px
    else:
        resolution = round(config.resolution_px * spec_resolution_px / config.scale_resolution_from_px)
    floor = min(PROXY_FLOOR_PX, data_px) if data_px is not None else 1
    return max(resolution, total_stride, floor)


def proxy_resolution_for(spec, data: ImageDataset, config: TrainConfig) -> int:
    """The resolution (px) at which :func:`evaluate_proxy` trains ``spec`` on ``data`` (see
    :func:`proxy_resolution`; ``data``'s image height is its own size)."""
    return proxy_resolution(spec.resolution_px, config, total_stride(spec), data_px=int(data.images.shape[1]))


def proxy_data(
    data,
    config: TrainConfig,
    *,
    resolution_px: int,
    n_images: int | None = None,
    cache_dir=None,
    workers: int | None = None,
    skip_bad_images: bool = False,
):
    """The in-memory data a proxy trains on, and the cache it came from: the one place a streamed dataset becomes
    the proxy's cache (a search prepares it once per study, :func:`evaluate_proxy` when given a folder directly).

    ``data`` in memory (or a ``(train, val)`` pair of in-memory datasets) is returned as it is, with no cache. A
    streamed :class:`~nasgen.data.ImageFiles` (what ``load_dataset(folder)`` returns) becomes the class-balanced
    subset of ``n_images`` files decoded once at ``resolution_px`` (resize + centre crop) by
    :func:`~nasgen.data.proxy_cache`: in memory, or memory-mapped in ``cache_dir`` when given (then every process of
    a study maps the same file). Builds are reused within the process.

    Args:
        data: A dataset or ``(train, val)`` pair.
        config: The proxy recipe (for the defaults of a future recipe-dependent cache; the size is explicit).
        resolution_px: Side of the cached images (px): the largest proxy resolution that will read them.
        n_images: Subset size (default ``DEFAULT_PROXY_IMAGES``).
        cache_dir: Where to memory-map the cache (a run directory), or None to keep it in memory.
        workers: Decode processes (None = cores − 1, 1…8).
        skip_bad_images: Leave undecodable files out (listed in the cache's ``skipped``) instead of failing.

    Returns:
        ``(dataset, cache)``: the data to train on, and the :class:`~nasgen.data.ProxyCache` (None for data already
        in memory).

    Raises:
        DataError: A file of the subset cannot be decoded (named), or fewer than two classes remain.
    """
    from nasgen.data import DEFAULT_PROXY_IMAGES, ImageFiles, proxy_cache

    if isinstance(data, tuple):
        if any(isinstance(part, ImageFiles) for part in data):
            raise DataError("a (train, val) pair must be in memory; pass one streamed dataset and let it be split")
        return data, None
    if not isinstance(data, ImageFiles):
        return data, None
    limit = {} if cache_dir is None else {"memory_limit_bytes": 0}
    cache = proxy_cache(
        data, resolution_px, n_images=DEFAULT_PROXY_IMAGES if n_images is None else n_images, cache_dir=cache_dir,
        workers=workers, skip_bad_images=skip_bad_images, **limit,
    )
    return cache.dataset, cache


def _in_memory(data, spec, config: TrainConfig):
    """``data`` as the proxy of ``spec`` trains on it: a streamed dataset becomes its cache at ``spec``'s proxy
    resolution (:func:`proxy_data`)."""
    from nasgen.data import ImageFiles

    if not isinstance(data, ImageFiles):
        return data
    return proxy_data(data, config, resolution_px=proxy_resolution(spec.resolution_px, config, total_stride(spec)))[0]


def proxy_split(dataset: ImageDataset, split_seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """The proxy's ``(train, val)`` split of ``dataset`` (:func:`~nasgen.data.split` by ``split_seed``, its shipped
    split when it has one): the same two objects for every call, so resized tensors are cached across trials."""
    return _split_once(dataset, split_seed)


def _split_once(dataset: ImageDataset, split_seed: int) -> tuple[ImageDataset, ImageDataset]:
    # The same split object for every trial, so the resized-tensor cache is shared between trials.
    per_dataset = _SPLITS.setdefault(dataset, {})
    if split_seed not in per_dataset:
        per_dataset[split_seed] = split(dataset, None, seed=split_seed)
    return per_dataset[split_seed]


def evaluate_proxy(
    spec,
    data: ImageDataset | tuple[ImageDataset, ImageDataset],
    config: TrainConfig | None = None,
    *,
    seed: int,
    on_epoch: Callable[[int, float], None] | None = None,
    device: str | torch.device | None = None,
    split_seed: int = 0,
    initial_state: dict | None = None,
) -> TrainResult:
    """Build ``spec`` for the data and train it under the proxy recipe.

    The model is ``build_model(spec.replace(num_classes=…, in_channels=…, resolution_px=R, dropout=…,
    drop_path_rate=…))`` with R from :func:`proxy_resolution`; its cost in the search is still counted at the
    spec's own resolution. Initialization is seeded by ``seed`` without touching the global RNG.

    Args:
        spec: The :class:`~nasgen.spec.ArchSpec` to score.
        data: A dataset (split with :func:`~nasgen.data.split` by ``split_seed``, its shipped split when it has
            one, the same for every trial) or a ``(train, val)`` pair. A streamed one (``load_dataset(folder)``)
            trains on the proxy's cache of it at this spec's proxy resolution (:func:`proxy_data`).
        config: The recipe; ``None`` = :func:`default_proxy` for the device.
        seed: Seed of initialization, data order and subsampling.
        on_epoch: ``on_epoch(epoch, val_top1)`` after each epoch; exceptions propagate (pruning).
        device: ``None`` = CUDA when available, else CPU.
        split_seed: Seed of the train/validation split when ``data`` is one dataset.
        initial_state: Start from these weights instead of a fresh initialization (a state dict of this
            architecture for the data, e.g. extracted from a supernet: ``confirm --init inherited``).

    Returns:
        The :class:`TrainResult`; ``val_top1`` is the score.

    Raises:
        TrainError: The loss became NaN/inf.
        SpecError: The spec cannot be adapted to the data.
        DataError: A streamed file of the proxy's subset cannot be decoded (named).
    """
    config = config or default_proxy(device)
    data = _in_memory(data, spec, config)
    train, val = data if isinstance(data, tuple) else _split_once(data, split_seed)
    model, resolution = _proxy_model(spec, train, config, seed)
    if initial_state is not None:
        model.load_state_dict(initial_state)  # strict: the same names and shapes as build_model's
    epoch_settings = None
    if config.progressive:
        from nasgen.train.progressive import ProgressiveSchedule, default_num_stages, progressive_settings

        schedule = ProgressiveSchedule.for_spec(model.spec, num_stages=default_num_stages(config.epochs))
        epoch_settings = progressive_settings(schedule, config.epochs)
    return train_model(
        model, train, val, config.replace(resolution_px=resolution), seed=seed, device=device, on_epoch=on_epoch,
        epoch_settings=epoch_settings,
    )


def _proxy_model(spec, train: ImageDataset, config: TrainConfig, seed: int) -> tuple[nn.Module, int]:
    """The proxy's model of ``spec`` for ``train`` (seeded, global RNG untouched) and its resolution (px)."""
    from nasgen.nn import build_model

    resolution = proxy_resolution_for(spec, train, config)
    changes = {"num_classes": train.num_classes, "in_channels": train.in_channels, "resolution_px": resolution}
    if config.dropout is not None:
        changes["dropout"] = config.dropout
    if config.drop_path_rate is not None:
        changes["drop_path_rate"] = config.drop_path_rate
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec.replace(**changes), classifier_init=config.classifier_init)
    if config.zero_init_residual:
        zero_init_residual(model)
    return model, resolution


def estimate_proxy_seconds(
    spec,
    data: ImageDataset | tuple[ImageDataset, ImageDataset],
    config: TrainConfig | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    split_seed: int = 0,
    steps: int = 3,
) -> tuple[float, float]:
    """Measured wall time of :func:`evaluate_proxy` on this machine, before committing to it.

    Times ``steps`` training steps (after one warm-up step) of a throw-away copy of the proxy's model at the
    proxy's batch size and resolution, and scales them to an epoch (training steps plus a forward-only
    evaluation, counted at a third of a training step per batch).

    Returns:
        ``(seconds per epoch, seconds for the whole recipe)``.
    """
    import time

    from nasgen.data import images_at, labels_of
    from nasgen.train._trainer import Trainer

    config = config or default_proxy(device)
    data = _in_memory(data, spec, config)
    train, val = data if isinstance(data, tuple) else _split_once(data, split_seed)
    model, resolution = _proxy_model(spec, train, config, seed)
    trainer = Trainer(model, train, val, config.replace(resolution_px=resolution), seed=seed, device=device)
    images, labels = images_at(train, resolution), labels_of(train)
    x, y = trainer._batch(images, labels, torch.arange(min(config.batch_size, len(labels))), None)
    model.train()
    with torch.random.fork_rng(devices=[]):  # dropout and drop path draw from the global RNG
        trainer._step(x, y, 0.0)
        start = time.perf_counter()
        for _ in range(steps):
            trainer._step(x, y, 0.0)
        step_s = (time.perf_counter() - start) / steps
    n_val = min(config.val_images or len(val), len(val))
    epoch_s = step_s * (trainer.steps_per_epoch + math.ceil(n_val / config.batch_size) / 3)
    return epoch_s, epoch_s * config.epochs


def zero_init_residual(model: nn.Module) -> int:
    """Zero the γ of the last BatchNorm in every residual block; return how many were zeroed.

    A block is residual when it has a truthy ``has_skip`` attribute (nasgen.nn, timm) or
    ``use_res_connect`` (torchvision); its last BatchNorm in registration order is the one before the
    residual add. Each residual block then starts as the identity (Goyal et al., 2017, §5.1).
    """
    count = 0
    for module in model.modules():
        if getattr(module, "has_skip", False) or getattr(module, "use_res_connect", False):
            bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            if bns:
                nn.init.zeros_(bns[-1].weight)
                count += 1
    return count

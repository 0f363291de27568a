"""Torch views of an :class:`ImageDataset`: uint8 tensors resized once per resolution, then normalized per batch.

Resizing every batch costs more than the forward pass of a small network on a 2-core CPU, so each dataset
keeps one resized uint8 tensor per resolution (weakly cached on the dataset object, so repeated trials on the
same data pay the resize once). Normalization happens per batch, after any uint8 augmentation.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
import torch.nn.functional as F

from nasgen.data._dataset import ImageDataset

__all__ = ["channel_stats", "images_at", "labels_of", "normalize"]

_RESIZED: weakref.WeakKeyDictionary[ImageDataset, dict[int, torch.Tensor]] = weakref.WeakKeyDictionary()


def images_at(dataset: ImageDataset, resolution_px: int) -> torch.Tensor:
    """The dataset's images as a uint8 tensor ``(N, C, R, R)`` at ``resolution_px``, computed once and cached.

    Resizing is bilinear with antialiasing (torch ``F.interpolate``), applied in chunks to bound memory; images
    already ``R×R`` are not touched. Grey images stay one channel.
    """
    cache = _RESIZED.setdefault(dataset, {})
    if resolution_px not in cache:
        base = torch.from_numpy(np.ascontiguousarray(dataset.images)).permute(0, 3, 1, 2)
        if base.shape[-2:] == (resolution_px, resolution_px):
            cache[resolution_px] = base.contiguous()
        else:
            chunks = [
                F.interpolate(
                    chunk.float(), size=(resolution_px, resolution_px), mode="bilinear", antialias=True,
                    align_corners=False,
                ).round_().clamp_(0, 255).to(torch.uint8)
                for chunk in base.split(2048)
            ]
            cache[resolution_px] = torch.cat(chunks)
    return cache[resolution_px]


def labels_of(dataset: ImageDataset) -> torch.Tensor:
    """The labels as an int64 tensor ``(N,)``."""
    return torch.from_numpy(np.ascontiguousarray(dataset.labels, dtype=np.int64))


def channel_stats(dataset: ImageDataset) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of the images, on the 0–1 scale.

    A streamed dataset (:class:`~nasgen.data._files.ImageFiles`) is estimated on a class-balanced sample
    (:func:`~nasgen.data._stream.stream_channel_stats`) instead of decoding every file.
    """
    if not isinstance(dataset, ImageDataset):
        from nasgen.data._stream import stream_channel_stats

        return stream_channel_stats(dataset)
    pixels = dataset.images.reshape(-1, dataset.in_channels).astype(np.float64) / 255.0
    std = np.maximum(pixels.std(axis=0), 1e-3)
    return tuple(float(m) for m in pixels.mean(axis=0)), tuple(float(s) for s in std)


def normalize(batch: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Map a uint8 batch ``(N, C, H, W)`` to float32 ``(x/255 − mean)/std``; ``mean``/``std``: ``(1, C, 1, 1)``."""
    return (batch.float().div_(255.0) - mean).div_(std)

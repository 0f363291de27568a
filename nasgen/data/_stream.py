"""The streaming pipeline: :class:`ImageFiles` decoded on the fly by DataLoader worker processes.

Transforms follow timm's ``transforms_factory`` with torchvision transforms v2: training takes a random-resized
crop (scale 0.08–1, aspect 3/4–4/3; Szegedy et al., 2015) to the current image size and a horizontal flip;
evaluation resizes the shorter side to ``floor(R / crop_pct)`` and centre-crops ``R × R`` (``crop_pct`` 0.875,
timm's default). Each image is read at its real resolution; only a batch per worker (times the prefetch
factor) is ever held in memory, so memory does not grow with the dataset.

A file that cannot be decoded — corrupt, not an image, or claiming more pixels than ``files.max_image_pixels``
(a decompression bomb, checked on the header before decoding) — does not raise inside a worker (DataLoader would
wrap it in a traceback): the batch carries ``(path, reason)`` and :class:`BadImages` in the main process fails
with the path, or counts and lists it under ``skip=True``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from nasgen.data._dataset import stratified_order
from nasgen.data._decode import BadImages, decode_image
from nasgen.data._files import ImageFiles
from nasgen.errors import DataError

__all__ = [
    "CROP_PCT",
    "BadImages",
    "StreamBatch",
    "StreamingImages",
    "default_loader_workers",
    "eval_transform",
    "make_loader",
    "stream_channel_stats",
    "train_transform",
]

#: timm's default evaluation crop: resize the shorter side to R / 0.875, centre-crop R.
CROP_PCT = 0.875
#: Random-resized-crop area range (Inception's; timm's and torchvision's default).
RRC_SCALE = (0.08, 1.0)
#: Images decoded (at 32 px) to estimate the per-channel normalization of a streamed dataset.
STATS_IMAGES = 256
#: Evaluation resizes keep at most this aspect ratio (the centre of a longer image): the centre crop never sees
#: more, and resizing the shorter side of a 12,000 x 2 px sliver to 256 px would make a 1.5-gigapixel image.
MAX_EVAL_ASPECT = 20


def default_loader_workers() -> int:
    """Decode workers by default: the usable cores minus one for the training process, between 1 and 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores - 1))


def train_transform(resolution_px: int) -> Any:
    """Random-resized crop to ``resolution_px`` (bilinear, antialiased) + horizontal flip → uint8 ``(C, R, R)``."""
    from torchvision.transforms import v2

    crop = v2.RandomResizedCrop(resolution_px, scale=RRC_SCALE, antialias=True)
    return v2.Compose([crop, v2.RandomHorizontalFlip(), v2.PILToTensor()])


class CentreAspect:
    """Crop a PIL image to its centre part of aspect ratio at most ``max_ratio``:1 (others pass unchanged).

    Before a resize of the shorter side and a centre crop this changes nothing the crop keeps (the crop is
    square and ``max_ratio`` ≥ 1), but bounds the resized image to ``max_ratio · side²`` pixels.
    """

    def __init__(self, max_ratio: float = MAX_EVAL_ASPECT) -> None:
        self.max_ratio = max_ratio

    def __call__(self, image: Any) -> Any:
        width, height = image.size
        longest = math.ceil(self.max_ratio * min(width, height))
        if max(width, height) <= longest:
            return image
        new_w, new_h = min(width, longest), min(height, longest)
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return image.crop((left, top, left + new_w, top + new_h))


def eval_transform(resolution_px: int, crop_pct: float = CROP_PCT) -> Any:
    """Resize the shorter side to ``floor(R / crop_pct)`` px, centre-crop ``R × R`` → uint8 ``(C, R, R)`` (an image
    longer than :data:`MAX_EVAL_ASPECT`:1 is first cut to its centre at that ratio, which the crop does not see)."""
    from torchvision.transforms import v2

    resize = v2.Resize(math.floor(resolution_px / crop_pct), antialias=True)
    return v2.Compose([CentreAspect(), resize, v2.CenterCrop(resolution_px), v2.PILToTensor()])


class StreamingImages(Dataset):
    """A map-style torch dataset over :class:`ImageFiles`; item ``i`` → ``(image | None, label, i, reason | None)``.

    Files claiming more than ``files.max_image_pixels`` are bad items (the limit is an attribute of this object,
    so DataLoader workers, forked or spawned, check the same one).

    The random transform of item ``i`` draws from torch's RNG seeded with ``(seed, i)`` inside a forked RNG
    state, so an image's augmentation depends on the seed and the file only — not on how many workers there
    are, which worker decodes it, or the caller's RNG (left untouched when decoding in the main process).

    Args:
        files: The files.
        transform: PIL image → uint8 tensor ``(C, R, R)``.
        draft_px: JPEGs may be decoded at a reduced scale keeping the shorter side ≥ this (px).
        seed: Seed of the augmentation (e.g. per epoch).
    """

    def __init__(self, files: ImageFiles, transform: Any, draft_px: int | None = None, seed: int = 0) -> None:
        self.paths, self.labels, self.mode = files.paths, files.labels, files.mode
        self.max_image_pixels = files.max_image_pixels  # pickled with the dataset: every worker checks the limit
        self.transform, self.draft_px, self.seed = transform, draft_px, seed

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int, int, str | None]:
        image, reason = decode_image(os.fsdecode(self.paths[index]), self.mode, draft_px=self.draft_px,
                                     max_image_pixels=self.max_image_pixels)
        if image is None:
            return None, int(self.labels[index]), int(index), reason
        # torch.manual_seed / fork_rng cost ~0.5 ms (they visit every backend); the CPU generator alone ~20 µs
        generator = torch.default_generator
        state = generator.get_state()
        # torch's Mersenne Twister keeps 32 bits of a seed: mix (seed, file) into them (int hashes are not salted)
        generator.manual_seed(hash((self.seed, int(index))) & 0xFFFFFFFF)
        try:
            return self.transform(image), int(self.labels[index]), int(index), None
        finally:
            generator.set_state(state)


@dataclass
class StreamBatch:
    """One collated batch: uint8 images ``(n, C, R, R)``, int64 labels ``(n,)``, file indices ``(n,)`` and the
    ``(path, reason)`` of every file of the batch that could not be decoded (left out of ``images``)."""

    images: torch.Tensor
    labels: torch.Tensor
    index: torch.Tensor
    bad: list[tuple[str, str]] = field(default_factory=list)

    def pin_memory(self) -> StreamBatch:
        return StreamBatch(self.images.pin_memory(), self.labels.pin_memory(), self.index, self.bad)


class _Collate:
    def __init__(self, paths: np.ndarray, channels: int) -> None:
        self.paths, self.channels = paths, channels

    def __call__(self, items: list[tuple[Any, int, int, str | None]]) -> StreamBatch:
        good = [item for item in items if item[0] is not None]
        bad = [(os.fsdecode(self.paths[i]), reason) for image, _, i, reason in items if image is None]
        if good:
            images = torch.stack([item[0] for item in good])
        else:
            images = torch.empty((0, self.channels, 1, 1), dtype=torch.uint8)
        labels = torch.tensor([item[1] for item in good], dtype=torch.int64)
        return StreamBatch(images, labels, torch.tensor([item[2] for item in good], dtype=torch.int64), bad)


def make_loader(
    files: ImageFiles,
    resolution_px: int,
    *,
    train: bool,
    batch_size: int,
    workers: int | None = None,
    order: np.ndarray | torch.Tensor | None = None,
    seed: int = 0,
    pin_memory: bool = False,
    transform: Any = None,
    draft_px: int | None = None,
) -> DataLoader:
    """A DataLoader of :class:`StreamBatch` over ``files`` in ``order`` (default: file order).

    Args:
        files: The files.
        resolution_px: Output side R (px).
        train: Training transform (random-resized crop + flip) or evaluation transform (resize + centre crop).
        batch_size: Images per batch (fewer when files are bad and skipped).
        workers: Decode processes; 0 decodes in this process; ``None`` = :func:`default_loader_workers`.
        order: File indices in the order to read them (a subset is allowed).
        seed: Seeds the augmentation: file ``i`` is transformed with the RNG seeded by ``(seed, i)``, so the result
            does not depend on ``workers``.
        pin_memory: Pin batches for fast host-to-GPU copies.
        transform: Replaces the default transform (e.g. the proxy cache's plain resize).
        draft_px: See :class:`StreamingImages`; default: eval keeps ``floor(R / crop_pct)``, train keeps the
            smallest crop of the random-resized crop at R px or more.
    """
    if transform is None:
        transform = train_transform(resolution_px) if train else eval_transform(resolution_px)
    if draft_px is None:
        draft_px = math.ceil(resolution_px / math.sqrt(RRC_SCALE[0])) if train else math.floor(resolution_px / CROP_PCT)
    workers = default_loader_workers() if workers is None else workers
    sampler = [int(i) for i in (range(len(files)) if order is None else order)]
    return DataLoader(
        StreamingImages(files, transform, draft_px, seed),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=_Collate(files.paths, files.in_channels),
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed),
        prefetch_factor=2 if workers > 0 else None,
    )


def stream_channel_stats(files: ImageFiles, workers: int | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0–1 scale) estimated on a class-balanced sample of :data:`STATS_IMAGES` images
    centre-cropped at 32 px (cached on ``files``); unreadable files are left out of the estimate."""
    if "stats" not in files._stats:
        order = stratified_order(files.labels, 0)[:STATS_IMAGES]
        loader = make_loader(files, 32, train=False, batch_size=64, workers=workers, order=order)
        pixels = [batch.images.permute(0, 2, 3, 1).reshape(-1, files.in_channels) for batch in loader]
        if not any(len(p) for p in pixels):
            raise DataError(f"{files.name}: none of the {len(order)} images sampled for normalization could be read")
        values = torch.cat(pixels).double() / 255.0
        std = values.std(dim=0).clamp_min(1e-3)
        files._stats["stats"] = (tuple(float(m) for m in values.mean(dim=0)), tuple(float(s) for s in std))
    return files._stats["stats"]

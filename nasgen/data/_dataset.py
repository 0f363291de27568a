"""The in-memory image dataset and its stratified, seeded train/validation split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasgen.errors import DataError

__all__ = ["DataReport", "ImageDataset", "split", "stratified_order"]


@dataclass(frozen=True)
class DataReport:
    """What loading did besides reading images, and what the images' headers showed: files ignored, classes and
    links skipped, bad files left out, degenerate images, conversions made.

    Attributes:
        ignored_files: Files that were not read as images (not an image suffix, or outside a class folder),
            as paths, in sorted order.
        skipped_classes: Class folders without images left out (only with ``skip_empty_classes``).
        notes: One line per conversion or omission, for the user (the CLI prints each as ``note: …``).
        unfollowed_links: Symbolic links that loop, point nowhere or leave the tree: not followed, never read.
        skipped_images: ``(path, reason)`` of files that could not be decoded, left out (in-memory read with
            ``skip_bad_images``; streamed files are skipped when decoded, and listed by the trainer or cache).
        animated_images: ``(path, frames)`` of animated or multi-page files (only the first frame is used).
        extreme_aspect_images: ``(path, width, height)`` of images longer than 20:1 either way.
        header_sizes: The sizes of the headers read (every file in memory, a class-balanced sample of a streamed
            dataset; :class:`~nasgen.data._inspect.HeaderSizes`), for :meth:`resolution_notes`; not compared.
    """

    ignored_files: tuple[str, ...] = ()
    skipped_classes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    unfollowed_links: tuple[str, ...] = ()
    skipped_images: tuple[tuple[str, str], ...] = ()
    animated_images: tuple[tuple[str, int], ...] = ()
    extreme_aspect_images: tuple[tuple[str, int, int], ...] = ()
    header_sizes: Any = field(default=None, repr=False, compare=False)

    def resolution_notes(self, resolution_px: int) -> tuple[str, ...]:
        """The notes that depend on the training resolution (px): images narrower or lower than a quarter of it
        (upsampled more than 4×), among the headers read."""
        from nasgen.data._inspect import small_note

        note = small_note(self.header_sizes, resolution_px)
        return (note,) if note else ()


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images and labels held in memory as numpy arrays.

    Attributes:
        images: uint8 images ``(N, H, W, C)``; C is 1 for grey images, 3 for colour.
        labels: int64 class indices ``(N,)`` in ``[0, len(classes))``.
        classes: Class names in label order.
        name: Where the data came from (``"embedded"``, a path, ...), for logs and run records.
        val_index: Indices of a validation split shipped with the data (the embedded subset and the
            Fashion-MNIST test images), or ``None``; :func:`split` uses it unless told a fraction.
        report: Files ignored and conversions made while loading (:class:`DataReport`); kept by subsets.

    Raises:
        DataError: Shapes or dtypes disagree, no images, fewer than two classes, or labels out of range.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    name: str
    val_index: np.ndarray | None = field(default=None, repr=False)
    report: DataReport = field(default_factory=DataReport, repr=False)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(
                f"{self.name}: images must be uint8 (N, H, W, C) with C 1 or 3, got {images.dtype} {images.shape}"
            )
        if len(images) == 0:
            raise DataError(f"{self.name}: no images")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{self.name}: {len(images)} images but labels of shape {labels.shape}")
        if labels.min() < 0 or labels.max() >= len(self.classes):
            raise DataError(
                f"{self.name}: labels must lie in [0, {len(self.classes)}), got [{labels.min()}, {labels.max()}]"
            )
        n_present = len(np.unique(labels))
        if n_present < 2:
            raise DataError(f"{self.name}: only one class ({self.classes[int(labels[0])]!r}); need at least two")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        """``(image, label)``: image ``index`` as a uint8 tensor ``(C, H, W)`` (a copy), as torch datasets give.

        Raises:
            IndexError: ``index`` outside ``[-N, N)``.
        """
        import torch

        image = np.array(self.images[index], dtype=np.uint8)  # a copy: a memory-mapped cache is read-only
        if image.ndim != 3:
            raise IndexError(f"{self.name}: index must be one integer, got {index!r}")
        return torch.from_numpy(image).permute(2, 0, 1).contiguous(), int(self.labels[index])

    @property
    def num_classes(self) -> int:
        """Number of classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def resolution_px(self) -> int | None:
        """Side of the square images (px), or ``None`` when they are not square."""
        _, height, width, _ = self.images.shape
        return int(height) if height == width else None

    @property
    def in_channels(self) -> int:
        """Channels per image: 1 (grey) or 3 (colour)."""
        return int(self.images.shape[-1])

    def subset(self, index: np.ndarray, name: str | None = None) -> ImageDataset:
        """Return the images at ``index`` (a shipped validation split does not carry over)."""
        return ImageDataset(
            self.images[index], self.labels[index], list(self.classes), name or self.name, report=self.report
        )


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Order indices so that every prefix is as close to class-balanced as possible.

    Classes are shuffled independently with ``seed`` and interleaved (round robin by rank within the
    class, ties broken by class), so the first ``k`` indices hold ``k·p_c`` images of class ``c`` up to
    rounding. Used both for splits and for fixed validation subsets that must be the same for every trial.
    """
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels), dtype=np.float64)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = rng.permutation(members)
        # Position within the class, as a fraction of the class size: interleaves classes by frequency.
        keys[members] = (np.arange(len(members)) + 0.5) / len(members)
    return np.lexsort((labels, keys))


def split(dataset: ImageDataset, val_fraction: float | None = None, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """Split into training and validation sets, stratified by class and fixed by ``seed``.

    Args:
        dataset: The data to split.
        val_fraction: Share of images held out for validation, in (0, 1). ``None`` uses the split shipped
            with the dataset (``dataset.val_index``) and otherwise 0.2.
        seed: Seed of the stratified draw; the same seed always gives the same split.

    Returns:
        ``(train, val)``.

    Raises:
        DataError: ``val_fraction`` outside (0, 1), or a split that leaves a class without training images.
    """
    if val_fraction is None and dataset.val_index is not None:
        is_val = np.zeros(len(dataset), dtype=bool)
        is_val[dataset.val_index] = True
        train_index, val_index = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    else:
        fraction = 0.2 if val_fraction is None else val_fraction
        if not 0.0 < fraction < 1.0:
            raise DataError(f"val_fraction must lie in (0, 1), got {fraction!r}")
        rng = np.random.default_rng(seed)
        val_parts, train_parts = [], []
        for cls in np.unique(dataset.labels):
            members = rng.permutation(np.flatnonzero(dataset.labels == cls))
            n_val = int(round(len(members) * fraction))
            n_val = min(max(n_val, 1), len(members) - 1) if len(members) > 1 else 0
            val_parts.append(members[:n_val])
            train_parts.append(members[n_val:])
        train_index, val_index = np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))
    if len(val_index) == 0:
        raise DataError(f"{dataset.name}: the split left no validation images (val_fraction={val_fraction!r})")
    return (
        dataset.subset(train_index, f"{dataset.name}[train]"),
        dataset.subset(val_index, f"{dataset.name}[val]"),
    )

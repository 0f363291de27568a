"""ImageFolder trees (``ROOT/<class>/<image>``) read eagerly into memory (``load_dataset(root, in_memory=True)``;
the default is to stream them, :mod:`nasgen.data._files`), with a report of what was done.

Nothing is dropped or converted silently (issue 19): an empty class folder is refused (or skipped and
reported with ``skip_empty_classes``), files that are not images are counted and listed in
:class:`~nasgen.data.DataReport`, and converting grey + colour to 3 channels or resizing mixed sizes is
reported once in its ``notes``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from nasgen.data._dataset import DataReport, ImageDataset
from nasgen.errors import DataError

__all__ = ["DEFAULT_IMAGE_FOLDER_PX", "IMAGE_SUFFIXES", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: ImageFolder images are resized to a square of this side when they differ in size (px).
DEFAULT_IMAGE_FOLDER_PX = 64
_GREY_MODES = ("1", "L", "I;16", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")


def empty_classes(root: Path, per_class: list[tuple[str, list]], skip_empty_classes: bool) -> list[str]:
    """Names of the class folders without images; refused unless ``skip_empty_classes`` (issue 19).

    Raises:
        DataError: An empty class folder and not ``skip_empty_classes``, naming up to three of them.
    """
    empty = [name for name, images in per_class if not images]
    if empty and not skip_empty_classes:
        shown = ", ".join(str(root / name) for name in empty[:3]) + (" …" if len(empty) > 3 else "")
        raise DataError(
            f"{shown}: class folder holds no images (suffixes {', '.join(IMAGE_SUFFIXES)}); it would be a class "
            "with 0 images. Remove it, or skip empty classes (--skip-empty-classes, skip_empty_classes=True)"
        )
    return empty


def omission_notes(empty: list[str], ignored: list[str]) -> list[str]:
    """The ``note:`` lines for skipped class folders and ignored non-image files, said once."""
    notes = []
    if empty:
        notes.append(f"skipped {len(empty)} empty class folder(s): {', '.join(empty)}")
    if ignored:
        shown = ", ".join(Path(p).name for p in ignored[:3]) + (", …" if len(ignored) > 3 else "")
        notes.append(f"ignored {len(ignored)} file(s) that are not images: {shown}")
    return notes


def _read_image(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert(mode)
            if size is not None and image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"{path}: cannot read image ({exc})") from exc


def _scan(root: Path, skip_empty_classes: bool) -> tuple[list[str], list[tuple[Path, int]], list[str], list[str]]:
    """Classes, ``(image, label)`` pairs, ignored files and skipped class names of the tree at ``root``."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    ignored = [str(p) for p in sorted(root.iterdir()) if p.is_file()]  # files beside the class folders
    per_class: list[tuple[str, list[Path]]] = []
    for folder in folders:
        paths = sorted(p for p in folder.rglob("*") if p.is_file())
        images = [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]
        ignored += [str(p) for p in paths if p.suffix.lower() not in IMAGE_SUFFIXES]
        per_class.append((folder.name, images))
    if not any(images for _, images in per_class):
        raise DataError(f"{root}: no images (expected ROOT/<class>/<image>{IMAGE_SUFFIXES[0]} …)")
    empty = empty_classes(root, per_class, skip_empty_classes)
    kept = [(name, images) for name, images in per_class if images]
    classes = [name for name, _ in kept]
    files = [(path, label) for label, (_, images) in enumerate(kept) for path in images]
    return classes, files, ignored, empty


def _inspect(files: list[tuple[Path, int]]) -> tuple[Counter, Counter]:
    """Counts of PIL modes and sizes ``(W, H)`` over the files (headers only)."""
    from PIL import Image, UnidentifiedImageError

    modes: Counter = Counter()
    sizes: Counter = Counter()
    for path, _ in files:
        try:
            with Image.open(path) as image:
                modes[image.mode] += 1
                sizes[image.size] += 1
        except (OSError, UnidentifiedImageError) as exc:  # a corrupt or mislabelled file: name it
            raise DataError(f"{path}: cannot read image ({exc})") from exc
    return modes, sizes


def _notes(
    modes: Counter, sizes: Counter, ignored: list[str], empty: list[str], target: str, side: int | None
) -> list[str]:
    notes = omission_notes(empty, ignored)
    grey = sum(n for mode, n in modes.items() if mode in _GREY_MODES)
    if target == "RGB" and grey:
        notes.append(
            f"{grey} grey image(s) among {sum(modes.values())} converted to 3 channels (the folder mixes both)"
        )
    alpha = sum(n for mode, n in modes.items() if mode in _ALPHA_MODES)
    if alpha:
        notes.append(f"{alpha} image(s) with an alpha channel: transparency dropped")
    if len(sizes) > 1:
        (w0, h0), (w1, h1) = min(sizes, key=lambda s: s[0] * s[1]), max(sizes, key=lambda s: s[0] * s[1])
        side = side or DEFAULT_IMAGE_FOLDER_PX
        notes.append(
            f"images come in {len(sizes)} sizes ({w0}x{h0} to {w1}x{h1} px): all resized to {side}x{side} px "
            "(aspect ratio not kept)"
        )
    elif side is not None and set(sizes) != {(side, side)}:
        (w, h), = sizes
        notes.append(f"images are {w}x{h} px: all resized to {side}x{side} px (aspect ratio not kept)")
    return notes


def load_image_folder(
    root: Path, *, skip_empty_classes: bool = False, resolution_px: int | None = None
) -> ImageDataset:
    """Read every image of an ImageFolder tree into memory (``load_dataset(root, in_memory=True)``).

    Class names are the sorted sub-folder names (hidden ones excluded); images are the files below a class
    folder with a suffix in :data:`IMAGE_SUFFIXES`. When grey and colour images are mixed, all become RGB;
    every image is resized (bilinear, aspect ratio not kept) to ``resolution_px`` square when given, else,
    when sizes differ, to ``DEFAULT_IMAGE_FOLDER_PX`` square. The returned dataset's ``report`` lists ignored
    files and skipped classes, and has one note per conversion.

    Args:
        root: The tree's root folder.
        skip_empty_classes: Leave out class folders without images (and note it) instead of refusing them.
        resolution_px: Side of the square every image is resized to (px); ``None`` = keep a size shared by
            every image, else ``DEFAULT_IMAGE_FOLDER_PX`` (64).

    Raises:
        DataError: No images at all, an empty class folder (unless skipped), or an unreadable image (named).
    """
    classes, files, ignored, empty = _scan(root, skip_empty_classes)
    modes, sizes = _inspect(files)
    target = "L" if all(mode in _GREY_MODES for mode in modes) else "RGB"
    if resolution_px is not None:
        size = (resolution_px, resolution_px)
    else:
        size = None if len(sizes) == 1 else (DEFAULT_IMAGE_FOLDER_PX, DEFAULT_IMAGE_FOLDER_PX)
    images = np.stack([_read_image(path, target, size) for path, _ in files])
    if images.ndim == 3:
        images = images[..., None]
    labels = np.array([label for _, label in files], dtype=np.int64)
    report = DataReport(
        ignored_files=tuple(ignored), skipped_classes=tuple(empty),
        notes=tuple(_notes(modes, sizes, ignored, empty, target, resolution_px)),
    )  # fmt: skip
    return ImageDataset(images, labels, classes, str(root), report=report)

"""ImageFolder trees (``ROOT/<class>/<image>``) read eagerly into memory (``load_dataset(root, in_memory=True)``;
the default is to stream them, :mod:`nasgen.data._files`), with a report of what was done.

Nothing is dropped or converted silently (issue 19): an empty class folder is refused (or skipped and
reported with ``skip_empty_classes``), files that are not images are counted and listed in
:class:`~nasgen.data.DataReport`, and converting grey + colour to 3 channels or resizing mixed sizes is
reported once in its ``notes``; so are (issue 30) symbolic links not followed, bad files left out
(``skip_bad_images``), animated and extremely long images. A file that cannot be read — corrupt, not an image,
or a header claiming more than ``max_image_pixels`` (a decompression bomb) — is a :class:`~nasgen.errors.DataError`
naming it, before any pixel is decoded.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from nasgen.config import DEFAULT_MAX_IMAGE_PIXELS
from nasgen.data._dataset import DataReport, ImageDataset
from nasgen.data._inspect import ASPECT_LIMIT, HeaderSizes, animated_note, aspect_note, link_note, walk_tree
from nasgen.errors import DataError

__all__ = ["DEFAULT_IMAGE_FOLDER_PX", "IMAGE_SUFFIXES", "header_findings", "load_image_folder"]

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


def header_findings(headers: list[tuple[str, Any]], n_files: int) -> tuple[dict[str, tuple], list[str]]:
    """The :class:`~nasgen.data.DataReport` fields and notes that ``(path, ImageHeader)`` pairs give: animated
    files, aspect ratios above 20:1, and every size (for the notes that depend on the training resolution)."""
    animated = tuple((path, header.frames) for path, header in headers if header.frames > 1)
    extreme = tuple(
        (path, header.width, header.height) for path, header in headers
        if max(header.width, header.height) > ASPECT_LIMIT * min(header.width, header.height)
    )  # fmt: skip
    notes = [note for note in (animated_note(animated, len(headers), n_files),
                               aspect_note(extreme, len(headers), n_files)) if note]  # fmt: skip
    sizes = HeaderSizes.of([(path, header.width, header.height) for path, header in headers], n_files)
    return {"animated_images": animated, "extreme_aspect_images": extreme, "header_sizes": sizes}, notes


def _read_image(path: Path, mode: str, size: tuple[int, int] | None, max_image_pixels: int
                ) -> tuple[np.ndarray | None, str | None]:  # fmt: skip
    """``(pixels (H, W[, C]) uint8, None)``, or ``(None, reason)`` for a file that cannot be decoded."""
    from PIL import Image

    from nasgen.data._decode import UnreadableImage, open_image

    try:
        with open_image(path, max_image_pixels=max_image_pixels) as image:
            image = image.convert(mode)
            if size is not None and image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8), None
    except UnreadableImage as exc:
        return None, exc.reason
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
        return None, f"cannot decode ({type(exc).__name__}: {exc})"


def _scan(root: Path, skip_empty_classes: bool) -> tuple[list[str], list[tuple[Path, int]], list[str], list[str],
                                                          list[str]]:  # fmt: skip
    """Classes, ``(image, label)`` pairs, ignored files, skipped class names and links not followed of the tree."""
    tree = walk_tree(root, skip_hidden=False)
    ignored = sorted(tree.loose)  # files beside the class folders
    per_class: list[tuple[str, list[Path]]] = []
    for name, found in tree.per_class:
        paths = sorted(Path(p) for p in found)
        images = [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]
        ignored += [str(p) for p in paths if p.suffix.lower() not in IMAGE_SUFFIXES]
        per_class.append((name, images))
    if not any(images for _, images in per_class):
        raise DataError(f"{root}: no images (expected ROOT/<class>/<image>{IMAGE_SUFFIXES[0]} …)")
    empty = empty_classes(root, per_class, skip_empty_classes)
    kept = [(name, images) for name, images in per_class if images]
    classes = [name for name, _ in kept]
    files = [(path, label) for label, (_, images) in enumerate(kept) for path in images]
    return classes, files, ignored, empty, tree.unfollowed


def _inspect(files: list[tuple[Path, int]], bad: Any, max_image_pixels: int) -> list[tuple[str, Any]]:
    """``(path, ImageHeader)`` of every readable file (headers only); an unreadable one goes to ``bad``
    (:class:`~nasgen.data._decode.BadImages`: raised, or recorded when skipping)."""
    from nasgen.data._decode import UnreadableImage, read_header

    headers = []
    for path, _ in files:
        try:
            headers.append((str(path), read_header(path, max_image_pixels=max_image_pixels)))
        except UnreadableImage as exc:  # a corrupt, mislabelled or oversized file: name it
            bad.check([(str(path), exc.reason)])
    return headers


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
    root: Path, *, skip_empty_classes: bool = False, resolution_px: int | None = None, skip_bad_images: bool = False,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> ImageDataset:
    """Read every image of an ImageFolder tree into memory (``load_dataset(root, in_memory=True)``).

    Class names are the sorted sub-folder names (hidden ones excluded); images are the files below a class
    folder with a suffix in :data:`IMAGE_SUFFIXES`. When grey and colour images are mixed, all become RGB;
    every image is resized (bilinear, aspect ratio not kept) to ``resolution_px`` square when given, else,
    when sizes differ, to ``DEFAULT_IMAGE_FOLDER_PX`` square. The returned dataset's ``report`` lists ignored
    files, skipped classes, links not followed, bad files skipped, animated and extreme images, and has one note
    per conversion or omission.

    Args:
        root: The tree's root folder.
        skip_empty_classes: Leave out class folders without images (and note it) instead of refusing them.
        resolution_px: Side of the square every image is resized to (px); ``None`` = keep a size shared by
            every image, else ``DEFAULT_IMAGE_FOLDER_PX`` (64).
        skip_bad_images: Leave out files that cannot be decoded (listed in the report) instead of failing.
        max_image_pixels: A file whose header claims more pixels (width × height) is a bad file, never decoded.

    Raises:
        DataError: No images at all, an empty class folder (unless skipped), an unreadable image (named;
            unless skipped), or fewer than two classes left.
    """
    from nasgen.data._decode import BadImages

    classes, files, ignored, empty, unfollowed = _scan(root, skip_empty_classes)
    bad = BadImages(skip_bad_images, hint="pass skip_bad_images=True to leave such files out")
    headers = _inspect(files, bad, max_image_pixels)
    modes = Counter(header.pil_mode for _, header in headers)
    sizes = Counter((header.width, header.height) for _, header in headers)
    target = "L" if all(mode in _GREY_MODES for mode in modes) else "RGB"
    if resolution_px is not None:
        size = (resolution_px, resolution_px)
    else:
        size = None if len(sizes) == 1 else (DEFAULT_IMAGE_FOLDER_PX, DEFAULT_IMAGE_FOLDER_PX)
    arrays, labels = [], []
    for path, label in files:
        if str(path) in bad.skipped:
            continue
        pixels, reason = _read_image(path, target, size, max_image_pixels)
        if pixels is None:
            bad.check([(str(path), reason)])
            continue
        arrays.append(pixels)
        labels.append(label)
    if not arrays:
        raise DataError(f"{root}: none of the {len(files)} images could be read ({bad.summary()})")
    images = np.stack(arrays)
    if images.ndim == 3:
        images = images[..., None]
    findings, header_notes = header_findings(headers, len(files))
    notes = _notes(modes, sizes, ignored, empty, target, resolution_px)
    notes += [note for note in [link_note(unfollowed, root), bad.summary()] if note] + header_notes
    report = DataReport(
        ignored_files=tuple(ignored), skipped_classes=tuple(empty), notes=tuple(notes),
        unfollowed_links=tuple(unfollowed), skipped_images=tuple(sorted(bad.skipped.items())), **findings,
    )  # fmt: skip
    return ImageDataset(images, np.array(labels, dtype=np.int64), classes, str(root), report=report)

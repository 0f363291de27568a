"""Dataset sources: the embedded subset, Fashion-MNIST, IDX folders, ``.npz`` files (in memory) and a user's
ImageFolder tree or ``path,label`` list (streamed, or in memory on request).

:func:`load_dataset` picks the reader by the shape of ``source``; it is the one function through which the
Python API and the CLI open data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nasgen.config import DEFAULT_MAX_IMAGE_PIXELS
from nasgen.data._dataset import ImageDataset, stratified_order
from nasgen.data._files import LIST_SUFFIXES, ImageFiles
from nasgen.data._folder import DEFAULT_IMAGE_FOLDER_PX, IMAGE_SUFFIXES, load_image_folder
from nasgen.data._idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_idx_folder
from nasgen.errors import DataError

__all__ = ["DEFAULT_IMAGE_FOLDER_PX", "IMAGE_SUFFIXES", "embedded_path", "load_dataset"]

_EMBEDDED_FILE = "fashion_mnist_subset.npz"


def embedded_path() -> Path:
    """Path of the shipped Fashion-MNIST subset (``nasgen/data/_embedded/fashion_mnist_subset.npz``)."""
    return Path(__file__).resolve().parent / "_embedded" / _EMBEDDED_FILE


def _load_embedded(_: Path | None) -> ImageDataset:
    with np.load(embedded_path()) as data:
        images = np.concatenate([data["train_images"], data["val_images"]])[..., None]
        labels = np.concatenate([data["train_labels"], data["val_labels"]]).astype(np.int64)
        classes = [str(c) for c in data["classes"]]
        n_train = len(data["train_labels"])
    return ImageDataset(images, labels, classes, "embedded", val_index=np.arange(n_train, len(labels)))


def _fashion_mnist_dir() -> Path:
    return Path(os.environ.get("NASGEN_FASHION_MNIST", FASHION_MNIST_DIR))


def _load_fashion_mnist(_: Path | None) -> ImageDataset:
    folder = _fashion_mnist_dir()
    if not folder.is_dir():
        raise DataError(
            f"fashion-mnist: IDX files not found in {folder}; install them with "
            "`apt install dataset-fashion-mnist` or point $NASGEN_FASHION_MNIST at a folder holding them"
        )
    images, labels, test_index = load_idx_folder(folder)
    return ImageDataset(images[..., None], labels, list(FASHION_MNIST_CLASSES), "fashion-mnist", val_index=test_index)


def _load_idx(folder: Path) -> ImageDataset:
    images, labels, test_index = load_idx_folder(folder)
    n_classes = int(labels.max()) + 1 if len(labels) else 0
    classes = list(FASHION_MNIST_CLASSES) if n_classes == 10 else [str(i) for i in range(n_classes)]
    return ImageDataset(images[..., None], labels, classes, str(folder), val_index=test_index)


def _load_npz(path: Path) -> ImageDataset:
    import zipfile

    if not zipfile.is_zipfile(path):  # numpy would call any other file "pickled (object) data"
        raise DataError(f"{path}: not an .npz archive (numpy.savez writes a zip of .npy arrays)")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read .npz ({exc})") from exc
    with data:
        keys = set(data.files)
        image_key = next((k for k in ("images", "x") if k in keys), None)
        label_key = next((k for k in ("labels", "y") if k in keys), None)
        if image_key is None or label_key is None:
            raise DataError(
                f"{path}: an .npz needs arrays 'images' (or 'x') and 'labels' (or 'y'), found {sorted(keys)}"
            )
        images, labels = data[image_key], data[label_key]
        classes = [str(c) for c in data["classes"]] if "classes" in keys else None
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(
            f"{path}: '{image_key}' must have shape (N, H, W) or (N, H, W, C) with C 1 or 3, got {images.shape}"
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number) or images.min() < 0 or images.max() > 255:
            raise DataError(f"{path}: '{image_key}' must hold values in [0, 255], got dtype {images.dtype}")
        images = (images * 255.0 if images.max() <= 1.0 else images).round().astype(np.uint8)
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but '{label_key}' has shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: '{label_key}' must hold integer class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if classes is None:
        classes = [str(i) for i in range(int(labels.max()) + 1)] if len(labels) else []
    return ImageDataset(np.ascontiguousarray(images), labels, classes, str(path))


def _kind(path: Path) -> Callable[[Path], ImageDataset]:
    if path.is_file():
        if path.suffix == ".npz":
            return _load_npz
        listed = path.suffix.lower() in LIST_SUFFIXES
        hint = " (a 'path,label' list is streamed: leave out in_memory=True)" if listed else ""
        raise DataError(f"{path}: a data file must be an .npz of images and labels{hint}")
    names = {p.name for p in path.iterdir()}
    if any("-ubyte" in name for name in names):
        return _load_idx
    return load_image_folder


_NAMED: dict[str, Callable[[Path | None], ImageDataset]] = {
    "embedded": _load_embedded,
    "fashion-mnist": _load_fashion_mnist,
}


def load_dataset(
    source: str | os.PathLike[str] | ImageDataset | ImageFiles | None = None, *, seed: int = 0,
    max_images: int | None = None, skip_empty_classes: bool = False, in_memory: bool = False,
    resolution_px: int | None = None, skip_bad_images: bool = False, max_image_pixels: int | None = None,
) -> ImageDataset | ImageFiles:
    """Open a dataset: small sources are read into memory, a user's image folder or list is streamed.

    This is the one entry point for data, the same for the Python API and the CLI (``--data``):
    :func:`nasgen.train.train`, :func:`nasgen.search.search` and their commands all call it.

    Args:
        source: ``None`` or ``"embedded"`` (the shipped stratified Fashion-MNIST subset, 10,000 train + 2,000
            validation images, 28×28 grey); ``"fashion-mnist"`` (all 70,000 images from the IDX files in
            ``/usr/share/datasets/fashion-mnist`` or ``$NASGEN_FASHION_MNIST``; the 10,000 test images are the
            shipped validation split); a folder of IDX files (``train-images-idx3-ubyte[.gz]`` …); an ``.npz``
            with ``images``/``x`` ``(N, H, W[, C])`` and ``labels``/``y`` ``(N,)`` — all read into memory —
            or an ImageFolder tree (``ROOT/<class>/<image>``) or a ``path,label`` list (``.csv``/``.txt``/
            ``.tsv``), which is **streamed**: only the file list is read, each image is decoded at its own
            resolution when a DataLoader worker needs it (``docs/streaming.md``). An already loaded dataset is
            returned as is (subsampled by ``max_images``).
        seed: Seed of the stratified subsample when ``max_images`` is given.
        max_images: Keep at most this many images (files, when streamed), class-balanced (handy for quick runs).
        skip_empty_classes: ImageFolder only: leave out class folders without images (noted in the report)
            instead of refusing them.
        in_memory: ImageFolder only: decode every file now into one uint8 array (the eager path, for small
            folders), instead of streaming it. Images of different sizes are then resized to 64×64 px
            (``DEFAULT_IMAGE_FOLDER_PX``, aspect ratio not kept) unless ``resolution_px`` is given; grey and
            colour mixed become 3 channels; each conversion is noted in ``dataset.report``.
        resolution_px: With ``in_memory=True``: the side (px) of the square every image is resized to.
        skip_bad_images: With ``in_memory=True``: leave out files that cannot be decoded (listed in
            ``dataset.report``) instead of failing (streamed files are skipped, or not, by the trainer's setting).
        max_image_pixels: ImageFolder or list: a file whose header claims more pixels (width × height) is a bad
            file, never decoded (a decompression bomb); ``None`` = PIL's own default limit, 89,478,485 px.

    Returns:
        An :class:`ImageDataset` (uint8 images ``(N, H, W, C)`` in memory) for the embedded data, Fashion-MNIST,
        IDX, ``.npz`` and ``in_memory=True``; an :class:`~nasgen.data.ImageFiles` (paths and labels, about 100
        bytes a file, nothing decoded) for an ImageFolder tree or list. Both have ``classes``, ``num_classes``,
        ``in_channels``, ``labels``, ``report``, ``len()`` and ``dataset[i] → (uint8 tensor (C, H, W), label)``,
        so either works with a ``torch.utils.data.DataLoader``; ``ImageFiles.transformed(R, train=…)`` gives
        fixed-size ``(C, R, R)`` items to batch.

    Raises:
        DataError: The path does not exist, holds no images, has one class only, an ImageFolder class folder
            without images (unless skipped), image and label counts differ, a file is malformed (named; a
            streamed file is only read, and named, when it is decoded), ``resolution_px`` without
            ``in_memory=True`` or not a positive integer, or a file that is not an ``.npz`` (a list file is
            streamed only); in memory, a file that cannot be decoded (unless ``skip_bad_images``).
    """
    from nasgen.data._files import is_streamable, open_image_files

    _check_eager_options(in_memory, resolution_px)
    if isinstance(source, (ImageDataset, ImageFiles)):
        if (isinstance(source, ImageFiles) and in_memory) or resolution_px is not None:
            raise DataError(
                f"{source.name}: already loaded; pass its path to read it with in_memory=True / resolution_px"
            )
        dataset = source
    elif source is None or str(source) in _NAMED:
        if resolution_px is not None:
            raise DataError(f"resolution_px applies to an ImageFolder tree, not to {str(source or 'embedded')!r}")
        dataset = _NAMED[str(source or "embedded")](None)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(
                f"data path does not exist: {str(source)!r} (expected 'embedded', 'fashion-mnist' or a path)"
            )
        if is_streamable(path) and not in_memory:  # a user's folder or list: streamed at its real resolution
            dataset = open_image_files(path, skip_empty_classes=skip_empty_classes)
            if max_image_pixels is not None:
                dataset = dataset.with_max_image_pixels(max_image_pixels)
        elif path.is_dir() and _kind(path) is load_image_folder:
            dataset = load_image_folder(
                path, skip_empty_classes=skip_empty_classes, resolution_px=resolution_px,
                skip_bad_images=skip_bad_images, max_image_pixels=max_image_pixels or DEFAULT_MAX_IMAGE_PIXELS,
            )  # fmt: skip
        elif resolution_px is not None:
            raise DataError(f"{path}: resolution_px applies to an ImageFolder tree read with in_memory=True")
        else:
            dataset = _kind(path)(path)
    if max_images is not None and max_images < len(dataset):
        if max_images < 2:
            raise DataError(f"max_images must be at least 2, got {max_images!r}")
        keep = np.sort(stratified_order(dataset.labels, seed)[:max_images])
        dataset = dataset.subset(keep)
    return dataset


def _check_eager_options(in_memory: bool, resolution_px: int | None) -> None:
    if resolution_px is None:
        return
    if isinstance(resolution_px, bool) or not isinstance(resolution_px, int) or resolution_px < 1:
        raise DataError(f"resolution_px must be a positive integer (px), got {resolution_px!r}")
    if not in_memory:
        raise DataError(
            f"resolution_px={resolution_px} is the size of an eager in-memory read: pass in_memory=True with it, "
            "or leave it out to stream the images at their own resolution"
        )
